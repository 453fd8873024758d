"""Automatic call distribution: a sans-IO core (queues, agents, strategies, queue log), reports,
a discrete-event driver for whole simulated days and a binding to the call engine."""
from pycallcenter.acd.core import STRATEGIES, Acd, AcdError, Decision, LogEntry

__all__ = ["Acd", "AcdError", "Decision", "LogEntry", "STRATEGIES"]
