"""The recording policy of ``[recording]``, ``[[queue]] record`` and ``[[agent]] record``: which calls are
recorded, the notice callers hear first, and how long recordings are kept.

Precedence for a call that reaches an agent: the agent's ``record`` if set, else the queue's, else the
centre's ``calls`` ("all" and "queued" record, "none" does not). With ``calls = "all"`` every answered
inbound call is recorded from its answer; if the agent or queue it reaches says ``record = false`` the
recording is stopped and deleted, so such calls leave no recording. A recording holds what the caller
says mixed with what they hear (prompts, music, the agent).
"""
import datetime as _dt
import glob
import os
import shutil

from pycallcenter.dsp import SAMPLE_RATE

TRUNKS = ("pri", "ss7", "fxo", "sip")


def attach(centre):
    """Add the centre's recording policy to its engine (when anything is recorded or kept for a time)."""
    s = centre.settings
    records = (s.recording.calls != "none" or any(q.record for q in s.queue) or any(a.record for a in s.agent))
    if records or s.recording.retention_days:
        policy = RecordingPolicy(centre)
        centre.features.append(policy)
        centre.engine.listeners.append(policy)
        if records and s.recording.notice:
            centre.router.before.append(policy.notice)
        return policy
    return None


class RecordingPolicy:
    """Engine listener starting and discarding recordings by the policy; a centre feature for retention."""

    name = "recording"

    def __init__(self, centre):
        self.centre = centre
        s = centre.settings
        self.section = s.recording
        self.queues = {q.name: q.record for q in s.queue}
        self.agents = {a.name: a.record for a in s.agent}
        self.active = {}  # call id -> Recorder of the caller's leg
        self.discarded = 0
        self.deleted = 0
        self.failed = 0  # recordings that could not start (folder unwritable, disk full)
        self._next_sweep = 0

    # --- the notice ------------------------------------------------------------------------------
    async def notice(self, call):
        """Before the call's script: answer and play the recording notice."""
        await call.answer()
        await call.play(self.section.notice)

    # --- engine events -----------------------------------------------------------------------------
    def on_leg_event(self, kind, leg):
        """Start recording answered inbound calls; decide again when an agent answers."""
        if kind != "answered" or leg.call is None:
            return
        call = leg.call
        first = call.caller_leg
        if leg is first:
            if leg.direction == "in" and leg.tech in TRUNKS and self.section.calls == "all":
                self._start(call, leg)
            return
        if call.agent is None or first is None or not first.active:
            return
        wanted = self.agents.get(call.agent)
        if wanted is None:
            wanted = self.queues.get(call.queue)
        if wanted is None:
            wanted = self.section.calls in ("all", "queued")
        rec = self.active.get(call.id)
        if wanted and rec is None and first.direction == "in":
            self._start(call, first)
        elif not wanted and rec is not None:
            self._discard(call)

    def on_call_ended(self, call):
        """Forget the call's recorder (the engine stops it with the leg)."""
        self.active.pop(call.id, None)

    def _start(self, call, leg):
        s = self.section
        try:
            self.active[call.id] = self.centre.engine.start_recording(leg, fmt=s.format, subtype=s.encoding)
        except OSError as exc:  # the folder is unwritable or the disk full: the call goes on unrecorded
            self.failed += 1
            self.centre.engine.log("record_error", call=call.id, error=type(exc).__name__)

    def _discard(self, call):
        eng = self.centre.engine
        rec = self.active.pop(call.id)
        stats = eng.stop_recording(rec)
        # stop_recording has just appended it, and nothing read the list since (readers keep a position in
        # it, so only this last entry may go)
        if eng.recordings and eng.recordings[-1] is stats:
            eng.recordings.pop()
        for path in {stats.get("path"), getattr(rec, "path", None)}:
            if path and os.path.exists(path):
                os.remove(path)
        self.discarded += 1
        eng.log("record_discard", call=call.id, agent=call.agent or "-", queue=call.queue or "-")

    # --- retention -------------------------------------------------------------------------------
    def on_tick(self, now):
        """Delete recordings past the retention period, once an hour of board time."""
        if self.section.retention_days is None or now < self._next_sweep:
            return
        self._next_sweep = now + 3600 * SAMPLE_RATE
        self.sweep(self.centre.wall_time(now))

    def sweep(self, when):
        """Delete the day folders (recordings/YYYY/MM/DD) older than the retention period; return how many
        files went."""
        root = self.centre.engine.recordings_dir
        oldest = (when - _dt.timedelta(days=self.section.retention_days)).date()
        gone = 0
        for day in _day_folders(root):
            y, m, d = (int(p) for p in os.path.relpath(day, root).split(os.sep))
            if _dt.date(y, m, d) < oldest:
                gone += sum(len(files) for _, _, files in os.walk(day))
                shutil.rmtree(day)
        if gone:
            self.deleted += gone
            self.centre.engine.log("record_retention", deleted=gone, before=oldest.isoformat())
        return gone

    def status(self):
        """Return the policy's counters."""
        return {"recording": len(self.active), "discarded": self.discarded, "deleted_by_retention": self.deleted,
                "failed_to_start": self.failed}


def _day_folders(root):
    """Return the recordings/YYYY/MM/DD folders under root."""
    pattern = os.path.join(glob.escape(root), "[0-9]" * 4, "[0-9]" * 2, "[0-9]" * 2)
    return sorted(p for p in glob.glob(pattern) if os.path.isdir(p))
