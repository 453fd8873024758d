"""What callers and agents hear around the queue, and the caller's choice of language.

- ``[announce]``: while waiting, the caller's position and expected wait every N seconds (a queue's
  ``announce_every`` or ``[announce] every``); when an agent answers, a whisper to the agent naming the
  queue and the caller's menu choice, and the agent's ID told to the caller, before they are connected.
- ``[language]``: with two or more ``choices`` every call starts with a choice of language (key 1 for the
  first, 2 for the second...); the chosen language is the call variable ``lang``, and every prompt the
  call plays afterwards is taken from ``PROMPTS/LANG/NAME`` when that file exists (see
  ``pycallcenter.ivr.localise``), numbers read in that language.
"""
import math

from pycallcenter.ivr import localise, say, say_lang

# Prompts the centre adds to the generated prompt set (espeak-ng voice, text); LANG/NAME is that language's.
PROMPTS = {
    "choose_language": ("en-us", "For English, press 1."),
    "zh/choose_language": ("cmn", "普通话服务请按2。"),
    "agent_id_is": ("en-us", "You are speaking with agent"),
    "zh/agent_id_is": ("cmn", "为您服务的是工号"),
    "menu_choice": ("en-us", "Menu choice"),
    "zh/welcome": ("cmn", "感谢您的来电。"),
    "zh/main_menu": ("cmn", "销售请按1。技术支持请按2。传真索取文件请按3。留言请按9。人工服务请按0。"),
    "zh/invalid": ("cmn", "对不起，您的选择无效。"),
    "zh/no_input": ("cmn", "对不起，没有听到您的选择。"),
    "zh/goodbye": ("cmn", "感谢您的来电，再见。"),
    "zh/queue_wait": ("cmn", "所有座席都在忙，请稍候，我们将按顺序接听您的电话。"),
    "zh/queue_position": ("cmn", "您前面排队的是第"),
    "zh/queue_expected": ("cmn", "预计等待时间大约"),
    "zh/minutes": ("cmn", "分钟"),
    "zh/transferring": ("cmn", "正在为您转接，请稍候。"),
    "zh/closed": ("cmn", "我们现在已经下班。工作时间是周一至周五上午八点到下午六点。"),
    "zh/technical_difficulty": ("cmn", "对不起，系统出现故障，请稍后再拨。"),
    "zh/operator_unavailable": ("cmn", "人工服务暂时无法接通，请留言。"),
    "zh/vm_leave_message": ("cmn", "请在提示音后留言，留言完毕请按井号键或挂机。"),
    "zh/vm_saved": ("cmn", "您的留言已保存。"),
}


def whisper_prompt(queue):
    """Return the name of the generated prompt that tells an agent which queue a call comes from."""
    return f"whisper_{queue}"


def generated_prompts(settings):
    """Return the prompts a centre generates for its configuration: PROMPTS and a whisper per queue."""
    out = dict(PROMPTS)
    if settings.announce.whisper:
        for q in settings.queue:
            if q.whisper is None:
                out[whisper_prompt(q.name)] = ("en-us", f"Call from the {q.name.replace('_', ' ')} queue.")
    return out


def attach(centre):
    """Wire the announcements and the language choice of a centre's configuration."""
    s = centre.settings
    if centre.binding is not None:
        centre.binding.announcer = QueueAnnouncer(centre)
        if s.announce.agent_id or s.announce.whisper or any(q.whisper for q in s.queue):
            centre.binding.greeter = Greeter(centre)
    if len(s.language.choices) >= 2:
        centre.router.before.insert(0, LanguageChoice(centre))


class QueueAnnouncer:
    """The binding's announcer: position and expected wait (rounded up to minutes), in the caller's
    language, as samples for the waiting caller's player."""

    def __init__(self, centre):
        self.engine = centre.engine
        self.section = centre.settings.announce
        self.binding = centre.binding  # its callback_key ([callbacks] key) is offered in each announcement

    def names(self, position, wait, lang):
        """Return the prompt names of one announcement."""
        out = []
        if self.section.position and position:
            out += ["queue_position"] + say.number(int(position), say_lang(lang))
        if self.section.expected_wait and wait is not None:
            minutes = max(1, math.ceil(wait / 60.0))
            out += ["queue_expected"] + say.number(minutes, say_lang(lang)) + ["minutes"]
        if self.binding.callback_key:
            out += ["queue_callback_key"] + say.digits(self.binding.callback_key, say_lang(lang))
        return out

    def __call__(self, position, wait, call=None):
        lang = call.lang if call is not None else None
        names = [localise(self.engine, n, lang) for n in self.names(position, wait, lang)]
        self.engine.log("announce", call=call.id if call is not None else "-", position=position,
                        wait=int(wait) if wait is not None else "-", prompts="+".join(names) or "-")
        return [self.engine.prompts.get(n) for n in names]


class Greeter:
    """The binding's greeter: a whisper to the agent (queue and menu choice) and the agent's ID to the caller."""

    def __init__(self, centre):
        s = centre.settings
        self.engine = centre.engine
        self.missing = set()
        self.section = s.announce
        self.whispers = {q.name: q.whisper for q in s.queue}
        self.ids = {a.name: a.agent_id or "".join(ch for ch in a.name if ch.isdigit()) for a in s.agent}

    def __call__(self, call, agent_leg, agent, queue):
        to_agent, to_caller = [], []
        whisper = self.whispers.get(queue)
        if whisper or self.section.whisper:
            to_agent.append(whisper or whisper_prompt(queue))
            menu = call.vars.get("menu") if call is not None else None
            if menu and str(menu).isdigit():
                to_agent += ["menu_choice"] + say.digits(str(menu), "en")
        agent_id = self.ids.get(agent)
        if self.section.agent_id and agent_id:
            lang = call.vars.get("lang") if call is not None else None
            to_caller += ["agent_id_is"] + say.digits(agent_id, say_lang(lang))
        to_agent, to_caller = self._known(to_agent), self._known(to_caller)
        return (to_agent, to_caller) if to_agent or to_caller else None

    def _known(self, names):
        """Leave out prompts the prompt folders lack (logged once): a missing whisper must never keep a
        caller from their agent."""
        find = getattr(self.engine.prompts, "path", None)
        if find is None:
            return names
        out = []
        for name in names:
            try:
                find(name)
            except FileNotFoundError:
                if name not in self.missing:
                    self.missing.add(name)
                    self.engine.log("prompt_missing", prompt=name, what="greeting")
                continue
            out.append(name)
        return out


class LanguageChoice:
    """The first step of every call when the centre offers languages: answer, offer them, set 'lang'."""

    def __init__(self, centre):
        self.section = centre.settings.language

    async def __call__(self, call):
        if call.leg.call.vars.get("lang"):  # the route fixed it
            return
        choices = self.section.choices
        await call.answer()
        prompts = [localise(call.engine, self.section.prompt, lang) for lang in choices]
        keys = "".join(str(i + 1) for i in range(len(choices)))
        for _ in range(2):
            got = await call.play(prompts, barge_in=keys)
            if not got:
                result = await call.collect(max_digits=1, terminator="", first_timeout=4.0)
                got = result.digits[:1] if result.digits else None
            if got and got in keys:
                call.set("lang", choices[int(got) - 1])
                return
            call.flush_digits()
        call.set("lang", self.section.default)
