"""CDRs: one row per ended call, written by an engine listener in the same transaction as the
queue-log and recording rows that are ready at that moment, so a call that ended is all there or
not there at all."""
import datetime as _dt
import os
import re
import time

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C

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


def cdr_row(call, clock):
    """Return the cdr table row for an ended call."""
    first = call.caller_leg
    answers = [leg.answered_at for leg in call.legs if leg.answered_at is not None]
    start = clock.seconds(call.started)
    end = clock.seconds(call.ended)
    answer = clock.seconds(min(answers)) if answers else None
    techs = list(dict.fromkeys(leg.tech for leg in call.legs))
    return {
        "call_id": call.id, "start_time": clock.iso(start), "answer_time": clock.iso(answer),
        "end_time": clock.iso(end), "start_s": start, "answer_s": answer, "end_s": end,
        "caller": first.caller if first else "", "caller_name": first.caller_name if first else "",
        "called": first.called if first else "", "channels": ",".join(str(leg.channel) for leg in call.legs),
        "tech": "+".join(techs), "direction": first.direction if first else "",
        "duration": round(end - start, 3) if end is not None else None,
        "billsec": round(end - answer, 3) if answer is not None and end is not None else 0.0,
        "cause": first.cause if first else None, "disposition": disposition(call),
        "queue": call.queue, "agent": call.agent, "vars": dict(call.vars), "recordings": [],
    }


class QueueLogFeed:
    """Reads an ACD's queue log (``acd.qlog``) incrementally and turns new entries into rows."""

    def __init__(self, acd, clock):
        self.acd = acd
        self.clock = clock
        self._done = 0

    def pending(self):
        """Return queue_log rows for the entries logged since the last call."""
        new = self.acd.qlog[self._done:]
        self._done += len(new)
        return [{"time": e.time, "iso": self.clock.iso(e.time), "call_id": e.call, "queue": e.queue,
                 "agent": e.agent, "event": e.event, "data": dict(e.data)} for e in new]


class CdrWriter:
    """Engine listener: on each ended call, commit its CDR plus pending queue-log and recording rows.

    ``flush()`` commits pending queue-log and recording rows that no call end has carried yet (agent
    logins, pauses); `pycallcenter run` calls it every second.
    """

    def __init__(self, store, engine, acd=None, epoch=None, on_written=None):
        self.store = store
        self.engine = engine
        self.clock = Clock(engine.now, epoch)
        self.feeds = [QueueLogFeed(acd, self.clock)] if acd is not None else []
        self._recs_done = 0
        self.on_written = on_written  # fn(call id) after the CDR is committed
        self.written = 0
        self.failures = 0
        self.last_error = None
        self._backlog = []  # (call id or None, [(table, rows)]) not yet committed
        engine.listeners.append(self)

    def add_acd(self, acd):
        """Also carry this ACD's queue log."""
        self.feeds.append(QueueLogFeed(acd, self.clock))

    def _recording_rows(self):
        new = self.engine.recordings[self._recs_done:]
        self._recs_done += len(new)
        rows = []
        for st in new:
            call_id, leg_id = recording_call(st["path"])
            rows.append({"call_id": call_id, "leg_id": leg_id, "path": st["path"], "seconds": st.get("seconds"),
                         "voice_ratio": st.get("voice_ratio"), "created": self.clock.iso(self.engine.now / SAMPLE_RATE),
                         "queue": None, "agent": None,
                         "data": {k: v for k, v in st.items() if k not in ("path", "seconds", "voice_ratio")}})
        return rows

    def on_call_ended(self, call):
        """Write the call's CDR (and whatever queue-log/recording rows are pending) in one transaction."""
        row = cdr_row(call, self.clock)
        recs = self._recording_rows()
        for r in recs:
            if r["call_id"] == call.id:
                r["queue"], r["agent"] = call.queue, call.agent
                row["recordings"].append(r["path"])
        self._backlog.append((call.id, [("cdr", [row])] + self._pending(recs)))
        self._drain()

    def flush(self):
        """Commit queue-log and recording rows not yet written (and retry a backlog); return True when
        nothing is left waiting."""
        batch = self._pending(self._recording_rows())
        if batch:
            self._backlog.append((None, batch))
        return self._drain()

    def _pending(self, recs):
        batch = [("recordings", recs)] if recs else []
        for feed in self.feeds:
            rows = feed.pending()
            if rows:
                batch.append(("queue_log", rows))
        return batch

    def _drain(self):
        # a database that fails (locked, disk full, server gone) must not stop the calls: rows wait in
        # order in the backlog and go at the next call end or flush()
        while self._backlog:
            call_id, batch = self._backlog[0]
            try:
                with self.store.transaction():
                    for table, rows in batch:
                        self.store.add_many(table, rows)
            except Exception as exc:  # noqa: BLE001 - any backend error; reported, retried
                self.failures += 1
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.engine.log("store_error", error=type(exc).__name__, backlog=len(self._backlog))
                return False
            self._backlog.pop(0)
            if call_id is not None:
                self.written += 1
                if self.on_written is not None:
                    self.on_written(call_id)
        return True

    @property
    def backlog(self):
        """Return the number of transactions waiting for the database."""
        return len(self._backlog)
