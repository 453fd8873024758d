"""Fax in IVR scripts on the emulated board: fax-on-demand on the same call and by callback, the inbox."""
import json
import os

import numpy as np
import pytest

from fax_helpers import exists_no_part, have_tools, page_count, pixel_differences

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
from pycallcenter.drivers import open_board, parse_config  # noqa: E402
from pycallcenter.dsp.tones import dtmf_signal  # noqa: E402
from pycallcenter.engine.engine import Engine  # noqa: E402
from pycallcenter.fax.documents import DocumentLibrary  # noqa: E402
from pycallcenter.fax.inbox import FaxInbox  # noqa: E402
from pycallcenter.fax.callback import fax_callback  # noqa: E402
from pycallcenter.fax.ivr import fax_on_demand  # noqa: E402
from pycallcenter.fax.loopback import BOARD, FarEnd, SpandspTerminal  # noqa: E402


class Rig:
    """One FXO port facing an emulated PSTN line with a spandsp terminal that can be switched on."""

    def __init__(self):
        self.board = open_board(parse_config(BOARD.format(law="ulaw", seed=1)))
        self.eng = Engine(self.board)
        self.eng.auto_trunks()
        self.line = self.board.emulator.far_ends["pstn"]
        self.far = FarEnd(self.line)

    def tick(self, n=1):
        for _ in range(n):
            self.eng.tick()
            self.far.step()

    def run_until(self, pred, seconds=60.0):
        for _ in range(int(seconds * 50)):
            if pred():
                return True
            self.tick()
        return False

    def new_prompt_with_barge_in(self):
        """Wait for the script to start a new prompt that accepts digits."""
        def pred():
            for task in self.eng.scheduler.tasks.values():
                op = task.op
                if type(op).__name__ == "_Play" and op.barge_in and not getattr(op, "seen_by_test", False):
                    op.seen_by_test = True  # ids of finished ops get reused: mark the op itself
                    return True
            return False
        assert self.run_until(pred, 20.0), "the script never asked for digits"

    def fax_started(self):
        return any(type(t.op).__name__ == "_FaxOp" for t in self.eng.scheduler.tasks.values())

    def key(self, digits):
        self.line.write_audio(dtmf_signal(digits, on_ms=80, off_ms=80))


@pytest.fixture
def library(tmp_path, testdata):
    have_tools()
    lib = DocumentLibrary(str(tmp_path / "cache"))
    lib.add("101", "ITU chart", testdata("fax", "itu1_g4.tif"))
    memo = tmp_path / "memo.txt"
    memo.write_text("Opening hours\nMonday to Friday 9-17\n")
    lib.add("102", "Opening hours", str(memo))
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\ngarbage")
    lib.add("666", "Broken", str(broken))
    return lib


def test_fax_on_demand_same_call(library, tmp_path):
    rig = Rig()
    out = {}

    async def script(call):
        out["r"] = await fax_on_demand(call, library, ident="FOD")

    rig.eng.router = lambda leg: script
    rig.line.call()
    rig.new_prompt_with_barge_in()
    rig.key("555#")  # unknown number: error prompt, asked again
    rig.new_prompt_with_barge_in()
    rig.key("666#")  # a corrupt source: refused the same way, logged
    for digits in ("101#", "1", "1", "102#", "1", "2", "1"):  # 101, confirm, another: 102, confirm, done, this call
        rig.new_prompt_with_barge_in()
        rig.key(digits)
    assert rig.run_until(rig.fax_started, 20.0)
    received = str(tmp_path / "caller.tif")
    rig.far.terminal = SpandspTerminal(calling=False, receive=received)  # the caller pressed start
    assert rig.run_until(lambda: "r" in out, 120.0)
    r = out["r"]
    assert r["documents"] == ["101", "102"] and r["delivery"] == "same_call"
    assert r["result"].ok and r["result"].pages == 2
    assert pixel_differences(library.bundle(["101", "102"]), received) == [0, 0]
    log = "\n".join(rig.eng.log_lines)
    assert "unknown_document_555" in log and "document_666_unusable" in log
    rig.tick(20)
    assert not rig.eng.legs  # we hung up: the channel is idle again


def test_fax_on_demand_books_a_callback(library, tmp_path):
    rig = Rig()
    out, booked = {}, []

    async def script(call):
        out["r"] = await fax_on_demand(call, library, callback=lambda number, docs, tiff: booked.append(
            (number, docs, tiff)))

    rig.eng.router = lambda leg: script
    rig.line.call()
    for digits in ("101#", "1", "2", "2"):  # document, confirm, no more, callback
        rig.new_prompt_with_barge_in()
        rig.key(digits)
    assert rig.run_until(lambda: any(type(t.op).__name__ == "_Collect" and t.op.max_digits == 20
                                     for t in rig.eng.scheduler.tasks.values()), 20.0)
    rig.key("5550123#")
    assert rig.run_until(lambda: "r" in out, 30.0)
    assert out["r"]["delivery"] == "callback" and out["r"]["callback"] == "5550123"
    assert booked == [("5550123", ["101"], library.tiff("101"))]
    rig.tick(20)
    assert not rig.eng.legs


def test_fax_callback_retries_on_no_answer_then_sends(library, tmp_path):
    rig = Rig()
    results = []
    task = rig.eng.scheduler.spawn(
        fax_callback(rig.eng, "pstn1/5550123", library.tiff("101"), attempts=3, interval=5.0, answer_timeout=8.0,
                     results=results), "callback", rig.eng.now)
    # first attempt: nobody answers
    assert rig.run_until(lambda: results, 30.0)
    assert results[0]["outcome"] == "no_answer"
    assert rig.line.digits.endswith("5550123")
    # second attempt: a fax machine answers
    received = str(tmp_path / "cb.tif")
    trunk = rig.eng.adapter("pstn1").lines[rig.line.channel.number]
    assert rig.run_until(lambda: len(rig.line.digits) == 14 and trunk.state == "progress", 30.0)  # dialled
    rig.tick(50)
    rig.line.answer()
    rig.far.terminal = SpandspTerminal(calling=False, receive=received)
    assert rig.run_until(lambda: task.finished, 120.0)
    assert [r["outcome"] for r in results] == ["no_answer", "sent"]
    assert results[1]["fax"]["pages"] == 1
    assert pixel_differences(library.tiff("101"), received) == [0]
    assert any(" fax_callback " in l and "outcome=sent" in l for l in rig.eng.log_lines)


def _inbox_call(tmp_path, testdata, hangup_after=None):
    rig = Rig()
    inbox = FaxInbox(str(tmp_path / "inbox"))
    records = []
    inbox.on_record = records.append

    async def script(call):
        await call.answer()
        await inbox.receive(call, ident="INBOX")

    rig.eng.router = lambda leg: script
    rig.line.call(number="5550142")
    rig.far.terminal = SpandspTerminal(calling=True, send=testdata("fax", "itu1_g4.tif"), ident="SENDER 9")
    if hangup_after is not None:
        rig.run_until(lambda: rig.line.off_hook, 30.0)
        rig.tick(int(hangup_after * 50))
        rig.line.hangup()
        rig.far.terminal = None
    assert rig.run_until(lambda: records, 120.0)
    rig.tick(20)
    return rig, inbox, records[0]


def test_inbox_keeps_tiff_previews_and_metadata(tmp_path, testdata):
    have_tools()
    rig, inbox, rec = _inbox_call(tmp_path, testdata)
    assert rec["ok"] and rec["pages"] == 1 and rec["remote_ident"] == "SENDER 9" and rec["caller"] == "5550142"
    assert pixel_differences(testdata("fax", "itu1_g4.tif"), rec["tiff"]) == [0]
    assert len(rec["previews"]) == 1 and os.path.getsize(rec["previews"][0]) > 0
    meta = json.load(open(rec["metadata"]))
    assert meta["pages"] == 1 and meta["bit_rate"] == 14400 and meta["duration"] > 10
    assert inbox.fax_log == [rec]
    assert exists_no_part(inbox.directory) == []
    assert not rig.eng.legs


def test_sender_hanging_up_mid_page_leaves_nothing_in_the_inbox(tmp_path, testdata, caplog):
    rig, inbox, rec = _inbox_call(tmp_path, testdata, hangup_after=18.0)
    assert not rec["ok"] and rec["hangup"] and rec["tiff"] is None
    assert os.listdir(inbox.directory) == []
    assert "not received" in caplog.text
    assert not rig.eng.legs  # the channel returned to idle


def test_fax_on_demand_caller_machine_never_starts(library, caplog):
    rig = Rig()
    out = {}

    async def script(call):
        out["r"] = await fax_on_demand(call, library)

    rig.eng.router = lambda leg: script
    rig.line.call()
    for digits in ("101#", "1", "2", "1"):
        rig.new_prompt_with_barge_in()
        rig.key(digits)
    assert rig.run_until(rig.fax_started, 20.0)
    assert rig.run_until(lambda: "r" in out, 180.0)  # nobody presses start: T.30 gives up by itself
    r = out["r"]["result"]
    assert not r.ok and r.pages == 0 and not r.hangup
    assert rig.run_until(lambda: not rig.eng.legs, 10.0)  # failure prompt, then we hang up
    assert "fax_sent on call" in caplog.text and any(" fax_sent " in l and "ok=0" in l for l in rig.eng.log_lines)


def test_a_fax_calling_an_ivr_menu_is_switched_to_the_inbox(tmp_path, testdata):
    from pycallcenter.fax.switch import fax_aware

    have_tools()
    rig = Rig()
    inbox = FaxInbox(str(tmp_path / "inbox"))
    reached = []

    async def menu(call):
        await call.answer()
        reached.append("menu")
        await call.play(np.zeros(8000 * 20, np.int16))  # a long greeting the fax talks over
        await call.collect(max_digits=1, first_timeout=30.0)
        reached.append("after collect")  # never: the fax switch interrupts the greeting

    rig.eng.router = lambda leg: fax_aware(menu, inbox=inbox)
    rig.line.call(number="5550177")
    rig.far.terminal = SpandspTerminal(calling=True, send=testdata("fax", "itu1_g4.tif"), ident="AUTO 1")
    assert rig.run_until(lambda: inbox.fax_log, 120.0)
    rec = inbox.fax_log[0]
    assert rec["ok"] and rec["remote_ident"] == "AUTO 1"
    assert pixel_differences(testdata("fax", "itu1_g4.tif"), rec["tiff"]) == [0]
    assert reached == ["menu"]
    assert any(" fax_detected " in l and "signal=cng" in l for l in rig.eng.log_lines)
    rig.tick(20)
    assert not rig.eng.legs and not rig.eng.scheduler.tasks


def test_fax_aware_leaves_voice_calls_alone(tmp_path):
    from pycallcenter.fax.switch import fax_aware

    rig = Rig()
    done = []

    async def menu(call):
        await call.answer()
        got = await call.collect(max_digits=1, first_timeout=10.0)
        done.append(got.digits)
        await call.hangup()

    rig.eng.router = lambda leg: fax_aware(menu, inbox=FaxInbox(str(tmp_path / "inbox")))
    rig.line.call()
    assert rig.run_until(lambda: rig.line.off_hook, 30.0)
    rig.tick(50)
    rig.key("7")
    assert rig.run_until(lambda: done, 20.0)
    rig.tick(20)
    assert done == ["7"] and not rig.eng.scheduler.tasks and os.listdir(tmp_path / "inbox") == []


def test_inbox_in_the_background_files_previews_after_returning(tmp_path, testdata):
    """background=True: the engine's thread gets the record at once; previews and JSON follow."""
    import json
    import shutil

    from pycallcenter.fax.inbox import FaxInbox
    from pycallcenter.fax.session import FaxResult

    tiff = tmp_path / "in.tif"
    shutil.copy(testdata("fax", "itu1_g4.tif"), tiff)
    inbox = FaxInbox(str(tmp_path / "inbox"), background=True)

    class Call:
        id, caller, called, now = "C9", "5551234", "5000", 12.5

    result = FaxResult(ok=True, code=0, text="OK", pages=1, remote_ident="REMOTE", path=str(tiff))
    record = inbox.file(Call(), str(tmp_path / "inbox" / "fax-C9"), result, 10.0)
    assert record["tiff"] == str(tiff) and inbox.fax_log == [record]
    inbox.flush()
    assert [os.path.basename(p) for p in record["previews"]] == ["fax-C9-p1.png"]
    meta = json.loads(open(record["metadata"]).read())
    assert meta["previews"] == record["previews"] and meta["remote_ident"] == "REMOTE"
