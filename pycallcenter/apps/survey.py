"""The post-call satisfaction survey ([survey]): when the agent hangs up on a caller from a surveyed
queue, the caller's call goes on into a short IVR (rate the call 1..5 with one key; another key is asked
again once, silence ends it), then a thank-you and the centre hangs up.

It runs inside the caller's own script, through the ACD binding's ``after_talk`` hook that ``queue_call``
awaits once the agent has ended the conversation; a caller who hangs up first never reaches it. The
answer goes to the ``survey`` table (storage/survey.py) and into the call's variables (``survey_score``),
so the call's one CDR carries it too.
"""
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.scheduler import CallHangup
from pycallcenter.errors import ConfigError
from pycallcenter.storage import survey as store_survey

KEYS = "12345"


def attach(centre):
    """Add the survey to a centre with an ACD when [survey] names queues; return it (or None). ConfigError
    names the key when a survey prompt is not in the prompt folders."""
    section = centre.settings.survey
    if not section.queues or centre.binding is None:
        return None
    for name in (section.prompt, "survey_invalid", "survey_thanks"):
        try:
            centre.engine.prompts.path(name)
        except FileNotFoundError as exc:  # found now, not by the first caller the survey is for
            settings = centre.settings
            raise ConfigError(f"survey.prompt: {exc}", path=settings.file,
                              line=settings.line_of("survey.prompt") or settings.line_of("survey.queues")) from None
    feature = Survey(centre, section)
    centre.binding.after_talk = feature.run
    centre.features.append(feature)
    return feature


class Survey:
    """Centre feature: asks callers of the surveyed queues for a 1..5 rating after the agent hangs up."""

    name = "survey"

    def __init__(self, centre, section):
        self.centre, self.section = centre, section
        self.queues = set(section.queues)
        self.answers = 0  # ratings stored since start

    async def run(self, call, result):
        """Survey the caller of an IvrCall whose conversation (QueueResult) the agent ended."""
        queue = call.leg.call.queue
        if queue not in self.queues:
            return
        try:
            score = await self._ask(call)
            if score is None:
                call.log("survey: no answer")
                return
            call.set("survey_score", score)
            self._store(call, queue, result.agent, score)
            await call.play("survey_thanks")
        except CallHangup:
            call.log("survey: the caller hung up")

    async def _ask(self, call):
        """Return the caller's rating 1..5, or None after silence or a second wrong key."""
        call.flush_digits()
        for attempt in range(2):
            # any key stops the prompt and stays buffered for the collect that reads it
            await call.play(self.section.prompt if attempt == 0 else "survey_invalid", barge_in="0123456789*#")
            key = (await call.collect(max_digits=1, terminator=None, first_timeout=self.section.timeout)).digits
            if not key:
                return None
            if key in KEYS:
                return int(key)
        return None

    def _store(self, call, queue, agent, score):
        writer = self.centre.writer
        seconds = call.engine.now / SAMPLE_RATE
        store_survey.save(self.centre.store, writer.run, call.id, writer.clock.iso(seconds), call.caller, queue,
                          agent, score)
        self.answers += 1

    def on_tick(self, now):
        """Nothing runs on its own: the survey lives in the callers' scripts."""

    def status(self):
        """Return the feature's line in the status file: the surveyed queues and the answers stored."""
        return {"queues": sorted(self.queues), "answers": self.answers}
