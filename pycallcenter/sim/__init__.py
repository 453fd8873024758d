"""Simulated people on the emulated board: PSTN callers on a PRI span and agents at analog phones.

This is the far side of the demo and of end-to-end tests. It talks to the stack only through the
emulator's far ends (D-channel frames, B-channel audio, phone hook and DTMF), never through engine
internals: a caller knows it reached an agent because the agent's phone showed its caller ID.
"""
