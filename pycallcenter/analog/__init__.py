"""Sans-IO analog line machines: FXS ports (our phones), FXO ports (our PSTN lines) and the station features.

Like the ISDN and SS7 machines, they never touch a board, a clock or the engine: board line events and
commands go in with ``now`` (board time in samples), and each call returns the outputs (``events``: actions
for the board and events for the engine; ``station_actions`` for the station features) in the order they
must be carried out. Timers are
``next_deadline()`` / ``handle_timer(now)`` over ``pycallcenter.timers.TimerService``; their durations are
named and defaulted once, in ``analog/timers.py``. The engine's adapters (``engine/analog.py``,
``engine/station.py``) carry the outputs out.
"""
