"""CDRs: one row per ended call, written by an engine listener in the same transaction as the
queue-log and recording rows that are ready at that moment, so a call that ended is all there or
not there at all. A call's queue-log rows are held while it is up and committed with its CDR, so a
process killed at any moment leaves only whole calls; the calls it had up are listed in ``open_calls``
(written at each flush, deleted with the CDR) and closed as interrupted at the next start
(:mod:`pycallcenter.storage.runs`). Every row carries the run (one per start) that wrote it.

A CDR is written once the call has ended *and* its scripts have finished: what a script concludes
after the line drops (a fax received, a message left) is part of the call's outcome. Each call gets
exactly one CDR, however many times the writer is registered as a listener.
"""
import datetime as _dt
import os
import re
import time
from collections import OrderedDict

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.scheduler import Op
from pycallcenter.storage.outcome import Trail, outcome
from pycallcenter.storage.runs import begin_run, end_run

_REC_NAME = re.compile(r"(?:^|_)(C\d+)_(L\d+)\.\w+$")


def disposition(call):
    """Return ANSWERED, BUSY, NO ANSWER, REJECTED or FAILED for an ended call."""
    if any(leg.answered_at is not None for leg in call.legs):
        return "ANSWERED"
    cause = call.caller_leg.cause if call.caller_leg else None
    if cause == C.USER_BUSY:
        return "BUSY"
    if cause in (C.NO_ANSWER, C.NO_USER_RESPONSE, C.NORMAL_CLEARING):
        return "NO ANSWER"
    if cause == C.CALL_REJECTED:
        return "REJECTED"
    return "FAILED"


class Clock:
    """Turns board sample times into board seconds and wall-clock ISO stamps (UTC)."""

    def __init__(self, engine_now=0, epoch=None):
        # wall time at board sample 0: the board clock starts when the board opens
        self.epoch = time.time() - engine_now / SAMPLE_RATE if epoch is None else float(epoch)

    def seconds(self, samples):
        """Return board seconds for a sample time (None stays None)."""
        return None if samples is None else samples / SAMPLE_RATE

    def iso(self, seconds):
        """Return the ISO-8601 UTC stamp of board seconds (None stays None)."""
        if seconds is None:
            return None
        return _dt.datetime.fromtimestamp(self.epoch + seconds, _dt.timezone.utc).isoformat(timespec="milliseconds")


def recording_call(path):
    """Return (call id, leg id) parsed from a recording file name made by recording_path, or (None, None)."""
    m = _REC_NAME.search(os.path.basename(path))
    return (m.group(1), m.group(2)) if m else (None, None)


def cdr_row(call, clock, trail=None):
    """Return the cdr table row for an ended call (trail: its queue-log Trail, when it was queued)."""
    first = call.caller_leg
    answers = [leg.answered_at for leg in call.legs if leg.answered_at is not None]
    start = clock.seconds(call.started)
    end = clock.seconds(call.ended)
    answer = clock.seconds(min(answers)) if answers else None
    techs = list(dict.fromkeys(leg.tech for leg in call.legs))
    adapter = getattr(first, "adapter", None) if first else None
    queued = trail is not None and trail.entered is not None
    return {
        "call_id": call.id, "start_time": clock.iso(start), "answer_time": clock.iso(answer),
        "end_time": clock.iso(end), "start_s": start, "answer_s": answer, "end_s": end,
        "caller": first.caller if first else "", "caller_name": first.caller_name if first else "",
        "called": first.called if first else "", "channels": ",".join(str(leg.channel) for leg in call.legs),
        "tech": "+".join(techs), "direction": first.direction if first else "",
        "duration": round(end - start, 3) if end is not None else None,
        "billsec": round(end - answer, 3) if answer is not None and end is not None else 0.0,
        "cause": first.cause if first else None, "disposition": disposition(call),
        "queue": (trail.queue if trail is not None and trail.queue else call.queue),
        "agent": call.agent or (trail.agent if trail is not None else None),
        "vars": dict(call.vars), "recordings": [],
        "outcome": outcome(call, trail), "trunk": getattr(adapter, "name", None),
        "queued_time": clock.iso(trail.entered) if queued else None,
        "queue_wait": trail.wait if queued else None,
        "queue_result": trail.result if queued else None,
        "talk": round(trail.talk, 3) if queued and trail.agent else None,
        "hold": round(trail.hold, 3) if queued and trail.agent else None,
    }


class QueueLogFeed:
    """Reads an ACD's queue log (``acd.qlog``) incrementally and turns new entries into rows."""

    def __init__(self, acd, clock):
        self.acd = acd
        self.clock = clock
        self._reader = acd.qlog.reader("cdr writer", start=0)  # from the first entry: logins came before us

    def pending(self):
        """Return queue_log rows for the entries logged since the last call."""
        new = self.acd.qlog.read(self._reader)
        return [{"time": e.time, "iso": self.clock.iso(e.time), "call_id": e.call, "queue": e.queue,
                 "agent": e.agent, "event": e.event, "data": dict(e.data)} for e in new]


_CLOSED, _SEEN = "-open_calls", "=runs"  # batch entries that delete a call's open row / note the flush time
WRITE_WAIT = 0.05  # seconds a write waits for a lock held elsewhere before its rows go to the backlog
# Calls (and flushes) committed in one transaction at most: what a tick ended goes in one commit (each
# commit cost 1-3 ms of the tick at 32 spans), and a backlog after an outage in commits of this size
BATCH = 256


class CdrWriter:
    """Engine listener: for each ended call, commit its CDR plus pending queue-log and recording rows.

    The CDR goes out once the call's scripts have finished (a short task checks every tick while
    some call waits; when the engine closes, everything waiting is written), or ``settle`` board
    seconds after the call ended if a script lingers. The calls that become ready in one pass of the
    scheduler (the calls a tick ended, usually) are committed together in one transaction: whole calls
    still, but one commit for the tick instead of one per call. ``flush()`` also commits queue-log and recording
    rows that no call end has carried yet (agent logins, pauses), lists the calls up in ``open_calls``
    and notes the run's ``last_seen``; `pycallcenter run` calls it every second. ``stop()`` marks the
    run closed cleanly.
    """

    def __init__(self, store, engine, acd=None, epoch=None, on_written=None, settle=60.0, run=None):
        if any(isinstance(listener, CdrWriter) for listener in engine.listeners):
            raise ValueError("this engine already has a CdrWriter: a second one would write every CDR twice")
        self.store = store
        self.engine = engine
        self.recovered = []
        if run is None:  # a new start: close what a process that died left (runs.py), then record ours; with
            # the store's own wait for locks, as its tables were made
            started = begin_run(store)
            run, self.recovered = started["run"], started["recovered"]
        self.run = run
        if hasattr(store, "limit_waits"):  # a locked database must not stall every call's tick for seconds
            store.limit_waits(WRITE_WAIT)
        # the engine knows the wall-clock time of its sample 0 when it has one
        self.clock = Clock(engine.now, epoch if epoch is not None else getattr(engine, "epoch", None))
        self.feeds = [QueueLogFeed(acd, self.clock)] if acd is not None else []
        self._held = {}  # call id -> queue_log rows of a call still up: committed with its CDR, never before
        self._marked = set()  # ids of calls up whose open_calls row is written (deleted with their CDR)
        self.settle = settle
        self._recs = engine.recordings.reader("cdr writer", start=0)
        self.on_written = on_written  # fn(call id) after the CDR is committed
        self.written = 0
        self.failures = 0
        self.last_error = None
        self._backlog = []  # (call id or None, [(table, rows)]) not yet committed
        self._ended = OrderedDict()  # call id -> ended Call whose CDR is not built yet
        self._done = OrderedDict()  # ids of the latest calls handed to the store (a repeat is ignored)
        self._trails = {}  # call id -> Trail from the queue log
        self._qrows = []  # queue_log rows read and not yet committed
        self._task = None  # the settle task while calls wait for their scripts
        engine.listeners.append(self)

    def add_acd(self, acd):
        """Also carry this ACD's queue log."""
        self.feeds.append(QueueLogFeed(acd, self.clock))

    def _recording_rows(self):
        new = self.engine.recordings.read(self._recs)
        rows = []
        for st in new:
            call_id, leg_id = recording_call(st["path"])
            rows.append({"call_id": call_id, "leg_id": leg_id, "path": st["path"], "seconds": st.get("seconds"),
                         "run": self.run,
                         "voice_ratio": st.get("voice_ratio"), "created": self.clock.iso(self.engine.now / SAMPLE_RATE),
                         "queue": None, "agent": None,
                         "data": {k: v for k, v in st.items() if k not in ("path", "seconds", "voice_ratio")}})
        return rows

    def on_call_ended(self, call):
        """Take note of an ended call; its CDR is written when its scripts have finished."""
        if call.id in self._ended or call.id in self._done:
            return  # the same writer registered twice: the call already has its CDR (or will)
        self._ended[call.id] = call
        scheduler = getattr(self.engine, "scheduler", None)
        if scheduler is None or getattr(self.engine, "closed", False):  # no pass to wait for: write it now
            self._write_ready()
            return
        # the settle task writes it in the scheduler's pass, with the other calls ready in that pass
        if self._task is None or self._task.finished:
            self._task = scheduler.spawn(self._settle(call.caller_leg), "cdr:settle", self.engine.now)
        scheduler.wake(self._task)

    async def _settle(self, leg):
        try:
            await _Settle(self, leg)
        finally:
            # the engine closes (it kills its tasks): scripts are gone, what waits is complete
            if self._ended:
                self._write_ready(everything=True)

    def flush(self):
        """Write the CDRs that are ready, commit queue-log and recording rows not yet written (and retry
        a backlog); return True when nothing is left waiting for the database."""
        self._write_ready()
        batch = self._pending(self._recording_rows())
        live = self.engine.calls
        for cid in [c for c in self._held if c not in live and c not in self._ended]:
            self._qrows.extend(self._held.pop(cid))  # no CDR will carry them (a call the engine never ended)
        fresh = [call for cid, call in live.items() if cid not in self._marked]
        if fresh:
            self._marked.update(call.id for call in fresh)
            batch.append(("open_calls", [self._open_row(call) for call in fresh]))
        batch.append((_SEEN, self.clock.iso(self.engine.now / SAMPLE_RATE)))
        self._backlog.append((None, batch))
        return self._drain()

    def stop(self):
        """Write what is pending and mark this run closed cleanly (the next start recovers nothing of it);
        return True when the database took everything."""
        if not self.flush():
            return False
        try:
            end_run(self.store, self.run, self.clock.iso(self.engine.now / SAMPLE_RATE))
        except Exception as exc:  # noqa: BLE001 - any backend error: the next start closes the run instead
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        return True

    def _open_row(self, call):
        first = call.caller_leg
        start = self.clock.seconds(call.started)
        return {"run": self.run, "call_id": call.id, "start_time": self.clock.iso(start), "start_s": start,
                "caller": first.caller if first else "", "called": first.called if first else "",
                "channels": ",".join(str(leg.channel) for leg in call.legs),
                "direction": first.direction if first else ""}

    def _write_ready(self, everything=False):
        """Write the CDRs of the ended calls whose scripts have finished (or lingered `settle` seconds; all of
        them when everything), in one transaction; return the unfinished tasks of the calls still waiting."""
        scheduler = getattr(self.engine, "scheduler", None)
        busy = {}
        if scheduler is not None and not everything and self._ended:  # tasks are named "CALLID:script"
            ended = self._ended
            for t in scheduler.tasks.values():
                if not t.finished:
                    cid = t.name.split(":", 1)[0]
                    if cid in ended:
                        busy.setdefault(cid, []).append(t)
        limit = self.engine.now - int(self.settle * SAMPLE_RATE)
        ready = [c for cid, c in self._ended.items() if cid not in busy or c.ended <= limit]
        if ready:
            self._read_queue_log()
            for call in ready:
                del self._ended[call.id]
                self._write(call)
            self._drain()
        return [t for cid, tasks in busy.items() if cid in self._ended for t in tasks]

    def _write(self, call):
        row = cdr_row(call, self.clock, self._trails.pop(call.id, None))
        row["run"] = self.run
        recs = self._recording_rows()
        for r in recs:
            if r["call_id"] == call.id:
                r["queue"], r["agent"] = row["queue"], row["agent"]
                row["recordings"].append(r["path"])
        batch = [("cdr", [row])] + self._pending(recs)
        held = self._held.pop(call.id, None)
        if held:
            batch.append(("queue_log", held))
        if call.id in self._marked:
            self._marked.discard(call.id)
            batch.append((_CLOSED, call.id))
        self._backlog.append((call.id, batch))
        self._done[call.id] = None
        while len(self._done) > 4096:
            self._done.popitem(last=False)

    def _read_queue_log(self):
        for feed in self.feeds:
            rows = feed.pending()
            live = self.engine.calls
            for r in rows:
                r["run"] = self.run
                cid = r["call_id"]
                if cid != "-" and (cid in live or cid in self._ended):
                    self._held.setdefault(cid, []).append(r)  # whole calls only: these go with the CDR
                else:
                    self._qrows.append(r)
                trail = self._trails.get(r["call_id"])
                if trail is None and r["event"] in ("ENTER", "JOINREFUSED") and r["call_id"] not in self._done:
                    # a call's story starts when it meets a queue; later lines (wrap-up after the
                    # CDR went out) start nothing
                    trail = self._trails[r["call_id"]] = Trail()
                if trail is not None:
                    trail.feed(r["event"], r["time"], r["queue"], r["agent"], r["data"])

    def _pending(self, recs):
        batch = [("recordings", recs)] if recs else []
        self._read_queue_log()
        if self._qrows:
            batch.append(("queue_log", self._qrows))
            self._qrows = []
        return batch

    def _drain(self):
        # a database that fails (locked, disk full, server gone) must not stop the calls: rows wait in
        # order in the backlog and go at the next call end or flush(). What waits goes in one transaction
        # (up to BATCH entries): each entry is a whole call or a flush, so the commit stays all or nothing
        while self._backlog:
            entries = self._backlog[:BATCH]
            try:
                with self.store.transaction():
                    for _, batch in entries:
                        for table, rows in batch:
                            if table == _CLOSED:  # rows: the call id whose open_calls row goes
                                self.store.delete("open_calls", "run = ? AND call_id = ?", (self.run, rows))
                            elif table == _SEEN:  # rows: the time of this flush
                                self.store.update("runs", {"last_seen": rows}, "id = ?", (self.run,))
                            else:
                                self.store.add_many(table, rows)
            except Exception as exc:  # noqa: BLE001 - any backend error; reported, retried
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.engine.log("store_error", error=type(exc).__name__, backlog=len(self._backlog))
                return False
            del self._backlog[:len(entries)]
            for call_id, _ in entries:
                if call_id is not None:
                    self.written += 1
                    if self.on_written is not None:
                        self.on_written(call_id)
        return True

    @property
    def backlog(self):
        """Return the number of transactions waiting for the database."""
        return len(self._backlog)


class _Settle(Op):
    """Runs while ended calls wait for their scripts: writes their CDRs as they become ready, those of one
    scheduler pass in one transaction. Polled only when woken: by a call's end (the writer wakes it), the
    end of a task of a waiting call, and a waiting call's `settle` deadline. It starts when a call ends
    and does nothing in the poll its start makes (the other calls of the tick end after it); the wake
    has it write in the scheduler's pass (the same tick when the call ended before it, as calls that a
    trunk or the board ends do; else the next). ``other`` is the first leg of the oldest waiting call: the
    engine sees an op waiting on a call that has already cleared, which ends on its own (not a task left
    behind)."""

    polled = False

    def __init__(self, writer, leg):
        self.writer = writer
        self.other = leg
        self._started = False
        self._watched = set()  # ids of the tasks and calls whose end or deadline wakes it

    def poll(self, now):
        if not self._started:  # the poll inside spawn(), while the call that started it is ending
            self._started = True
            return
        writer = self.writer
        for task in writer._write_ready():
            if task.id not in self._watched:
                self._watched.add(task.id)
                self.wake_on(task.ended_key)
        if not writer._ended:
            self.finish()
            return
        self.other = next(iter(writer._ended.values())).caller_leg
        for call in writer._ended.values():
            if call.id not in self._watched:  # a script that lingers: its call's CDR goes out all the same
                self._watched.add(call.id)
                self.wake_at(call.ended + int(writer.settle * SAMPLE_RATE))
