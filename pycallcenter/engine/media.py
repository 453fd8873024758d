"""The media plane: one tick of every channel decoded, analysed, mixed and encoded in batch.

Per tick: G.711 -> int16 for all rows at once, line echo cancelled on the rows in use that have a canceller
(far = what was sent on the row the tick before, near = what came back; see ``set_echo``), DTMF detection
over the whole batch, then the output of every row is built in an int32 accumulator from players
(prompts), tone generators and bridges (native passes adding the rows straight from their source, no
gathered copies), then saturated to int16 and encoded in each row's law in one native pass over the rows
written this tick (a row that stays silent keeps last tick's zeros and silence codes untouched); a bridge's
listener that hears one talker and nothing else is sent as the talker's row itself, without the mix.
Per-channel Python runs only for rows with an active player or recorder.
"""
import numpy as np

from pycallcenter.drivers.base import Signalling, SpanKind
from pycallcenter.dsp import g711, mix
from pycallcenter.dsp.dtmf import DtmfDetector
from pycallcenter.dsp.echo import TAILS_MS, EchoCanceller
from pycallcenter.dsp.tones import ToneGenerator
from pycallcenter.engine.recording import RecorderBank


class Player:
    """Plays a queue of int16 prompts on one row (again and again with loop=True, e.g. music on hold)."""

    def __init__(self, prompts, loop=False):
        self.prompts = [np.asarray(p, dtype=np.int16).ravel() for p in prompts]
        self.index = 0
        self.pos = 0
        self.loop = loop and any(p.size for p in self.prompts)
        self.done = not any(p.size for p in self.prompts)

    def fill(self, out):
        """Add the next len(out) samples into out (int32 row); return True when the queue is over."""
        n = out.size
        filled = 0
        while filled < n and self.index < len(self.prompts):
            cur = self.prompts[self.index]
            take = min(n - filled, cur.size - self.pos)
            out[filled:filled + take] += cur[self.pos:self.pos + take]
            filled += take
            self.pos += take
            if self.pos >= cur.size:
                self.index += 1
                self.pos = 0
                if self.loop and self.index >= len(self.prompts):
                    self.index = 0
        self.done = self.index >= len(self.prompts)
        return self.done


def echo_tails(board, numbers, default_ms=64):
    """Return {row: tail ms} of the rows (channels ``numbers`` in row order) that get a line echo canceller.

    A channel with an ``[[echocanceller]]`` entry (system.conf ``echocanceller=``) gets one with a tail of its
    taps (taps / 8 ms, rounded up to 16, 32, 64 or 128); otherwise analog ports and PRI bearer channels (spans
    with a D-channel) get the default tail, and other channels (SS7 bearers, CAS) none.
    """
    config = getattr(board, "config", None)
    tails = {}
    for row, n in enumerate(numbers):
        ch = board.channels[n]
        taps = config.channels[n].echo_taps if config is not None and n in config.channels else 0
        if taps:
            tails[row] = next((t for t in TAILS_MS if t * 8 >= taps), TAILS_MS[-1])
        elif ch.span.kind in (SpanKind.FXS, SpanKind.FXO) or any(
                c.signalling in (Signalling.DCHAN, Signalling.HARDHDLC) for c in ch.span.channels):
            tails[row] = default_ms
    return tails


def echo_snapshot(engine):
    """Return [{"channel", "erl_db", "erle_db", "state", "resets", "settled", "tail_ms", "running"}] for every
    channel of the engine that has a line echo canceller, by channel number (for status files and metrics)."""
    rows, cols = engine.media.echo_columns()
    channel = engine.channel_of_row
    return [{"channel": channel[r], "erl_db": a, "erle_db": b, "state": s, "resets": n, "settled": k, "tail_ms": t,
             "running": u} for r, a, b, s, n, k, t, u in zip(rows, *cols)]


ECHO_COLUMNS = ("erl_db", "erle_db", "state", "resets", "settled", "tail_ms", "running")


def _db(values):
    """Return a canceller's figures in dB as a list of floats rounded to 0.1, None where not measured (nan)."""
    return [None if v != v else round(v, 1) for v in np.asarray(values, np.float64).tolist()]


class EchoGroup:
    """The echo cancellers of the rows sharing one tail length: one batched canceller, run on the rows in use.

    Channel i of the canceller is the group's i-th row. When the group's rows are consecutive (every row of a
    board with cancellers on all its lines, packet rows after them or not), the kernel cancels in place on a
    view of those rows of the plane's arrays (``lo``: the first row), with no gather and no scatter back;
    otherwise (``lo`` None, or ``in_place=False``: the specification the view is tested against) the rows are
    gathered. ``index`` maps a row to its channel."""

    def __init__(self, rows, tail_ms, in_place=True, **params):
        self.rows = np.asarray(rows, np.intp)
        n = len(self.rows)
        consecutive = n > 0 and int(self.rows[-1]) - int(self.rows[0]) == n - 1
        self.lo = int(self.rows[0]) if in_place and consecutive else None
        self.index = {int(r): i for i, r in enumerate(self.rows)}
        self.canceller = EchoCanceller(n, tail_ms=tail_ms, **params)
        self.in_use = np.zeros(n, bool)
        # which cancellers are switched on, kept beside the canceller's own flags (every switch goes through
        # switch()), so refresh() is one array operation instead of a call per row on every call start and end
        self.on = np.array([self.canceller.enabled(i) for i in range(n)], bool)
        self.active = np.zeros(0, np.int32)

    def switch(self, i, on):
        """Switch the canceller of the group's channel i on or off."""
        (self.canceller.enable if on else self.canceller.disable)(i)
        self.on[i] = on

    def refresh(self):
        """Recompute which cancellers run: channels in use whose canceller is switched on."""
        self.active = np.flatnonzero(self.in_use & self.on).astype(np.int32)

    def cancel(self, sent, received):
        """Replace the active rows of received (rows x samples int16) by their echo-cancelled audio."""
        if self.lo is not None:
            window = slice(self.lo, self.lo + len(self.rows))
            near = received[window]
            self.canceller.process_into(sent[window], near, near, self.active)
            return
        rows = self.rows[self.active]
        out = self.canceller.process(sent[self.rows], received[self.rows], rows=self.active)
        received[rows] = out[self.active]


class MediaPlane:
    """Batched media for `rows` channels of `blocksize` samples; laws[i] is 'ulaw' or 'alaw'.

    With packet_rows > 0 the plane has that many more rows after the board's (RTP legs): their audio comes
    into ``receive`` already decoded and leaves as ``tx[board_rows:]``; G.711 here is for board rows only."""

    def __init__(self, laws, blocksize, tone_plan="us", packet_rows=0):
        self.board_rows = len(laws)
        self.rows = len(laws) + packet_rows
        self.blocksize = blocksize
        laws = np.asarray(laws)
        self.ulaw_rows = np.nonzero(laws == "ulaw")[0]
        self.alaw_rows = np.nonzero(laws == "alaw")[0]
        self.rx = np.zeros((self.rows, blocksize), np.int16)  # what each channel's far end sends us
        self.tx = np.zeros((self.rows, blocksize), np.int16)  # what we send each channel
        # the mix; all zero between ticks: the kernel that sends it clears the rows it sends
        self._acc = np.zeros((self.rows, blocksize), np.int32)
        self._codes = np.zeros((self.board_rows, blocksize), np.uint8)
        self._laws = np.full(self.rows, -1, np.int8)  # each row's law for the encoder (-1: a packet row, no codes)
        self._laws[self.ulaw_rows] = g711.ULAW
        self._laws[self.alaw_rows] = g711.ALAW
        # rows written this tick, and rows written last tick: a row written in neither keeps its zero tx and its
        # silence code, so a tick touches only the rows something writes and those that just fell silent
        self._live = np.zeros(self.rows, np.uint8)
        self._dirty = np.ones(self.rows, np.uint8)  # the codes start as zeros, not silence: the first tick sets them
        self.dtmf = DtmfDetector(self.rows)
        self.tones = ToneGenerator(self.rows, plan=tone_plan) if self.rows else None
        self.tone_rows: set = set()
        self.players: dict = {}  # row -> Player
        self.on_player_end = None  # fn(row) when a row's player ends or is stopped (wakes the ops waiting on it)
        self.sources: dict = {}  # row -> object with tick(rx_row int16) -> int16 block or None (fax, modems)
        self.taps: list = []  # objects with tap(rx) called with every tick's decoded audio (batched detectors)
        self.bank = RecorderBank(blocksize)
        self._links: dict = {}  # (listener row, talker row) -> gain (1.0)
        # the same links indexed, so a call's end touches only its own links and the rounds are built without
        # sorting every link: row -> its (listener, talker) keys; listener -> {talker: None} in link order;
        # listener -> its first talker (round 0); the listeners hearing more than one talker
        self._of_row: dict = {}
        self._heard: dict = {}
        self._first: dict = {}
        self._multi: set = set()
        self._rounds = []
        self._alone = np.zeros(0, bool)
        # a call's set-up or clearing changes links several times in one tick: the rounds are built once, at
        # the next transmit
        self._links_changed = False
        self.muted: set = set()  # rows whose own audio is not passed to anyone (hold)
        self.echo_groups: list = []  # EchoGroups (set_echo)
        self._echo_of_row: dict = {}  # row -> (EchoGroup, index in it)

    # --- connections ---------------------------------------------------------------------------
    def _add_link(self, listener, talker):
        key = (listener, talker)
        if key in self._links:
            return
        self._links[key] = 1
        self._of_row.setdefault(listener, set()).add(key)
        self._of_row.setdefault(talker, set()).add(key)
        heard = self._heard.setdefault(listener, {})
        heard[talker] = None
        if len(heard) == 1:
            self._first[listener] = talker
        else:
            self._multi.add(listener)

    def _drop_link(self, key):
        del self._links[key]
        listener, talker = key
        for row in key:
            keys = self._of_row.get(row)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._of_row[row]
        heard = self._heard[listener]
        del heard[talker]
        if not heard:
            del self._heard[listener], self._first[listener]
        else:
            if self._first[listener] == talker:
                self._first[listener] = next(iter(heard))
            if len(heard) == 1:
                self._multi.discard(listener)

    def link(self, listener, talker):
        """Let `listener` hear `talker` (one direction)."""
        self._add_link(listener, talker)
        self._links_changed = True

    def unlink(self, listener, talker):
        """Stop `listener` hearing `talker`."""
        if (listener, talker) in self._links:
            self._drop_link((listener, talker))
        self._links_changed = True

    def bridge(self, a, b):
        """Join rows a and b both ways."""
        self._add_link(a, b)
        self._add_link(b, a)
        self._links_changed = True

    def isolate(self, row):
        """Remove every link to or from a row (its call ended or it went on hold)."""
        for key in sorted(self._of_row.get(row, ())):
            self._drop_link(key)
        self._links_changed = True

    def links_of(self, row):
        """Return the (listener, talker) pairs a row takes part in."""
        return set(self._of_row.get(row, ()))

    def listeners_of(self, row):
        """Return the rows that hear `row`."""
        return sorted(l for (l, t) in self._of_row.get(row, ()) if t == row)

    def _build_rounds(self):
        self._links_changed = False
        # One round per talker a listener hears (bridges need one, a 3-way conference two): within a round
        # every listener appears once, so a plain fancy-indexed add is exact and much cheaper than add.at.
        # Round 0 is every listener with its first talker; the few listeners hearing more (conferences, a
        # supervisor) add the rounds after it. The sums are of integers, so the order of talkers is free.
        first = self._first
        self._rounds = [(np.fromiter(first.keys(), np.intp, len(first)),
                         np.fromiter(first.values(), np.intp, len(first)))] if first else []
        # round 0's listeners that hear only their first talker (no later round adds to them)
        self._alone = np.array([l not in self._multi for l in first], bool)
        if self._multi:
            rest = {l: [t for t in self._heard[l] if t != first[l]] for l in sorted(self._multi)}
            for r in range(max(len(t) for t in rest.values())):
                dst = [l for l, t in rest.items() if len(t) > r]
                self._rounds.append((np.array(dst, np.intp), np.array([rest[l][r] for l in dst], np.intp)))

    # --- players and tones ---------------------------------------------------------------------
    def play(self, row, prompts, loop=False):
        """Start playing prompts on a row (replacing what it played); return the Player."""
        player = Player(prompts, loop)
        self.players[row] = player
        return player

    def stop(self, row):
        """Stop the row's player."""
        if self.players.pop(row, None) is not None and self.on_player_end is not None:
            self.on_player_end(row)

    def attach(self, row, source):
        """Give a row a per-tick source: source.tick(rx_row) sees what the row received this tick and
        returns the int16 block to send (or None); it runs before players are mixed in."""
        self.sources[row] = source

    def detach(self, row):
        """Remove the row's per-tick source."""
        self.sources.pop(row, None)

    def start_tone(self, row, tone):
        """Start a tone of the plan (or a ToneSpec) on a row."""
        self.tones.start(row, tone)
        self.tone_rows.add(row)

    def stop_tone(self, row):
        """Stop the row's tone."""
        if row in self.tone_rows:
            self.tones.stop(row)
            self.tone_rows.discard(row)

    # --- line echo cancellation ----------------------------------------------------------------------
    def set_echo(self, tails, **params):
        """Give rows line echo cancellers ({row: tail ms}), built with EchoCanceller's ``params``; each runs while
        its row is in use (echo_start)."""
        by_tail = {}
        for row, tail in sorted(tails.items()):
            by_tail.setdefault(tail, []).append(row)
        self.echo_groups = [EchoGroup(rows, tail, **params) for tail, rows in sorted(by_tail.items())]
        self._echo_of_row = {r: (g, i) for g in self.echo_groups for r, i in g.index.items()}

    def echo_start(self, row):
        """A call begins on row: its canceller forgets the last call's echo path, is switched on, runs from now on."""
        if row in self._echo_of_row:
            g, i = self._echo_of_row[row]
            g.canceller.reset(i)
            g.switch(i, True)
            g.in_use[i] = True
            g.refresh()

    def echo_stop(self, row):
        """The row's call is over: its canceller stops running."""
        if row in self._echo_of_row:
            g, i = self._echo_of_row[row]
            g.in_use[i] = False
            g.refresh()

    def echo_enable(self, row, on=True):
        """Switch the row's canceller on or off (IVR scripts: call.echo_cancel); return False if it has none."""
        if row not in self._echo_of_row:
            return False
        g, i = self._echo_of_row[row]
        g.switch(i, on)
        g.refresh()
        return True

    def echo_counters(self):
        """Return {row: {"erl_db", "erle_db", "state", "resets", "settled", "tail_ms", "running"}} for rows with a
        canceller."""
        rows, cols = self.echo_columns()
        return {r: dict(zip(ECHO_COLUMNS, values)) for r, *values in zip(rows, *cols)}

    def echo_columns(self):
        """Return (rows, columns) of every row with a canceller, in row order: rows a list, columns one list per
        name of ECHO_COLUMNS (dB rounded to 0.1, None while not measured), built from each group's arrays."""
        rows, cols = [], [[] for _ in ECHO_COLUMNS]
        for g in self.echo_groups:
            c = g.canceller.counters()
            running = np.zeros(len(g.rows), bool)
            running[g.active] = True
            rows += g.rows.tolist()
            for col, values in zip(cols, (_db(c.erl_db), _db(c.erle_db), list(c.state), np.asarray(c.resets).tolist(),
                                          np.asarray(c.settled, bool).tolist(), [g.canceller.tail_ms] * len(g.rows),
                                          running.tolist())):
                col += values
        if len(self.echo_groups) > 1:  # groups are by tail length: put their rows back in order
            order = sorted(range(len(rows)), key=rows.__getitem__)
            rows, cols = [rows[i] for i in order], [[col[i] for i in order] for col in cols]
        return rows, cols

    # --- recorders -----------------------------------------------------------------------------
    @property
    def recorders(self):
        """Return the recorders being fed."""
        return list(self.bank.active)

    def add_recorder(self, rec):
        """Feed a recorder from now on (what the row receives and what it is sent, after mixing)."""
        self.bank.add(rec)

    def remove_recorder(self, rec):
        """Stop feeding a recorder; it gets what was still buffered."""
        self.bank.remove(rec)

    # --- the tick ------------------------------------------------------------------------------
    def receive(self, codes, packet_audio=None):
        """Decode one tick of G.711 codes (board rows x blocksize) into self.rx, take the packet rows' decoded
        audio (packet_audio) after them; return DTMF events."""
        if not self.rows:
            return []
        nb = self.board_rows
        rx = self.rx if nb == self.rows else self.rx[:nb]
        if not nb:
            pass
        elif self.ulaw_rows.size == nb:
            g711.ulaw_decode(codes, out=rx)
        elif self.alaw_rows.size == nb:
            g711.alaw_decode(codes, out=rx)
        else:
            rx[self.ulaw_rows] = g711.ulaw_decode(codes[self.ulaw_rows])
            rx[self.alaw_rows] = g711.alaw_decode(codes[self.alaw_rows])
        if packet_audio is not None:
            self.rx[nb:] = packet_audio
        for group in self.echo_groups:
            if group.active.size:
                # self.tx still holds what went out last tick: the board returns its echo in this tick's block
                group.cancel(self.tx, self.rx)
        for tap in self.taps:
            tap.tap(self.rx)
        return self.dtmf.process(self.rx)

    def transmit(self):
        """Mix players, tones and links into self.tx; return the G.711 codes to write (finished players)."""
        finished = []
        if not self.rows:
            return self._codes, finished
        try:
            self._mix(finished)
        except BaseException:  # a source or player that raised leaves a partial mix: start the next one clean
            self._acc.fill(0)
            self._live.fill(0)
            self._dirty.fill(1)
            raise
        # one pass over the rows written (saturate, tx, codes in each row's law, the mix cleared) and those that
        # fell silent; the rest keep last tick's silence
        g711.mix_out(self._acc, self.tx, self._codes, self._laws, self._live, self._dirty)
        self.bank.tick(self.rx, self.tx)
        return self._codes, finished

    def _mix(self, finished):
        """Add this tick's links, tones, sources, players and beeps into the (zero) mix, flagging the rows written."""
        acc, live = self._acc, self._live
        if self.tone_rows:
            # only the rows with a tone are rendered: every other channel of the generator is stopped (start_tone
            # and stop_tone keep tone_rows), and rendering it would only write a row of zeros
            k = len(self.tone_rows)
            rows = np.fromiter(sorted(self.tone_rows), np.intp, k)
            mix.add_rows(acc, live, rows, self.tones.process_rows(rows, self.blocksize), np.arange(k, dtype=np.intp))
        for row, source in list(self.sources.items()):
            out = source.tick(self.rx[row])
            if out is not None:
                acc[row] += out
                live[row] = 1
        if self.players:
            # the common case in one native pass: the whole block comes from the current prompt
            for row in mix.play_blocks(acc, live, self.players, self.blocksize):
                live[row] = 1
                if self.players[row].fill(acc[row]):
                    finished.append(row)
                    del self.players[row]
                    if self.on_player_end is not None:
                        self.on_player_end(row)
        for rec in self.bank.beeping:
            if rec.beep_every is not None:
                beep = rec.beep_due(self.blocksize)
                if beep is not None:
                    acc[rec.row] += beep
                    live[rec.row] = 1
        # the links last, once every other write has flagged its row: a listener hearing one talker and nothing
        # else (most bridged legs) is sent as the talker's row itself, without the int32 mix (g711.send_copies:
        # tx and codes as the mix would send them); the others are added into the mix, talkers straight from rx
        if self._links_changed:
            self._build_rounds()
        if self._rounds:
            silent = None
            if self.muted:
                silent = np.zeros(self.rows, np.uint8)
                silent[list(self.muted)] = 1
            dst, src = self._rounds[0]
            alone = self._alone if silent is None else self._alone & (silent[src] == 0)
            alone = alone & (live[dst] == 0)
            if alone.all():
                g711.send_copies(self.rx, self.tx, self._codes, self._laws, live, dst, src)
            else:
                g711.send_copies(self.rx, self.tx, self._codes, self._laws, live, dst[alone], src[alone])
                mixed = ~alone
                mix.add_rows(acc, live, dst[mixed], self.rx, src[mixed], silent)
            for dst, src in self._rounds[1:]:
                mix.add_rows(acc, live, dst, self.rx, src, silent)
