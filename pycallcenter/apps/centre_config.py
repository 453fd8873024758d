"""The call centre's settings as the bundled IVR scripts read them (``call.engine.centre``): business
hours, holidays, data paths, the clock. The demo/runner builds one and ``attach()``es it to the engine;
tests do the same with their own folders and a fixed clock."""
import datetime as _dt
import os
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Optional

from pycallcenter.apps.callbacks import CallbackStore
from pycallcenter.apps.voicemail import Voicemail
from pycallcenter.dsp import SAMPLE_RATE

OPEN, CLOSED, HOLIDAY = "open", "closed", "holiday"


@dataclass
class CentreConfig:
    """Settings and shared stores of one call centre (paths default to files under data_dir)."""

    data_dir: str = "data"
    open_days: tuple = (0, 1, 2, 3, 4)  # datetime.weekday(): Monday is 0
    open_time: _dt.time = _dt.time(8, 0)
    close_time: _dt.time = _dt.time(18, 0)
    holidays: frozenset = frozenset()  # datetime.date values
    # board time 0 is this moment (a Monday 09:00), so runs repeat; clock_fn replaces the whole rule
    base_time: _dt.datetime = _dt.datetime(2026, 1, 5, 9, 0)
    clock_fn: Optional[Callable[[], _dt.datetime]] = None
    voicemail_dir: Optional[str] = None  # default data_dir/voicemail
    voicemail_db: Optional[str] = None  # default voicemail_dir/voicemail.sqlite
    account_db: Optional[str] = None  # default data_dir/accounts.sqlite
    callback_db: Optional[str] = None  # default data_dir/callbacks.sqlite
    general_mailbox: str = "100"  # after hours and when no queue can take the call (created if missing)
    general_mailbox_pin: str = ""  # '' = nobody can log in to it until a PIN is set
    operator: Optional[str] = None  # dial target for 0 in the main menu ('channel/5', 'pri1/200'); None: voicemail
    operator_timeout: float = 20.0
    fax_library: Any = None  # a pycallcenter.fax DocumentLibrary for fax-on-demand, or None
    lang: str = "en"
    engine: Any = field(default=None, repr=False)
    _voicemail: Any = field(default=None, repr=False)
    _callbacks: Any = field(default=None, repr=False)

    def attach(self, engine):
        """Make this the engine's centre (``engine.centre``); return self."""
        engine.centre = self
        self.engine = engine
        return self

    def path(self, name):
        """Return the configured path for 'voicemail_dir', 'account_db' or 'callback_db'."""
        given = getattr(self, name)
        if given is not None:
            return given
        return os.path.join(self.data_dir, {"voicemail_dir": "voicemail", "account_db": "accounts.sqlite",
                                            "callback_db": "callbacks.sqlite"}[name])

    def clock(self):
        """Return the centre's current local time: clock_fn() if set, else base_time plus board time."""
        if self.clock_fn is not None:
            return self.clock_fn()
        seconds = self.engine.now / SAMPLE_RATE if self.engine is not None else 0.0
        return self.base_time + _dt.timedelta(seconds=seconds)

    def status(self, when=None):
        """Return 'open', 'closed' or 'holiday' for when (default: now by clock())."""
        when = self.clock() if when is None else when
        if when.date() in self.holidays:
            return HOLIDAY
        if when.weekday() not in self.open_days or not (self.open_time <= when.time() < self.close_time):
            return CLOSED
        return OPEN

    def voicemail(self):
        """Return the centre's Voicemail store (opened on first use; MWI goes to the attached engine)."""
        if self._voicemail is None:
            folder = self.path("voicemail_dir")
            self._voicemail = Voicemail(folder, self.voicemail_db, on_mwi=self._message_waiting)
            if self._voicemail.mailbox(self.general_mailbox) is None:
                self._voicemail.add_mailbox(self.general_mailbox, self.general_mailbox_pin, owner="general")
        return self._voicemail

    def callbacks(self):
        """Return the centre's CallbackStore (opened on first use)."""
        if self._callbacks is None:
            os.makedirs(os.path.dirname(self.path("callback_db")) or ".", exist_ok=True)
            self._callbacks = CallbackStore(self.path("callback_db"))
        return self._callbacks

    def _message_waiting(self, mailbox, waiting):
        if mailbox is None or mailbox.extension is None or self.engine is None:
            return
        for adapter in self.engine.adapters:
            if hasattr(adapter, "set_message_waiting") and adapter.owns(mailbox.extension):
                adapter.set_message_waiting(mailbox.extension, waiting)
                self.engine.log("mwi", mailbox=mailbox.number, channel=mailbox.extension, on=int(waiting))


def centre_of(call):
    """Return the call's CentreConfig: engine.centre when it is one; else one made once (defaults, plus
    the same-named settings, e.g. data_dir, of whatever object the runner put in engine.centre)."""
    engine = call.engine
    centre = getattr(engine, "centre", None)
    if isinstance(centre, CentreConfig):
        return centre
    derived = getattr(engine, "centre_config", None)
    if derived is None:
        names = [f.name for f in fields(CentreConfig) if f.init and not f.name.startswith("_") and f.name != "engine"]
        derived = CentreConfig(**{n: getattr(centre, n) for n in names if hasattr(centre, n)})
        derived.engine = engine
        engine.centre_config = derived
        if centre is None:
            engine.centre = derived
    return derived
