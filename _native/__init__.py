"""Compiled media kernels (Cython/C), batched over channels. Use them through pycallcenter.dsp."""
