"""Numpy reference twins of the native kernels: the readable specification tests compare against."""
