"""A transfer to a queue with data, in two headless Chromium sessions on a centre built by the composition
root: a PRI caller presses 1 and reaches agent1 (sales); agent1 types a note and a variable on the desktop
and transfers the caller to queue:support; agent2's desktop (support only) pops with the caller's number,
the IVR's choice, agent1's note and variable and the support queue, and answers; agent1's page shows the
transfer and wrap-up. Both pages are checked and screenshotted; the note also lands in the call's CDR."""
from test_desk_transfer_outside import browser, desk_centre, talking_to_caller, until
from test_desktop import CALLER, click, login, text

NOTE = "Billing question on invoice 2026-114; already verified the address"


def test_a_queue_transfer_carries_the_ivr_data_and_the_agents_note_to_the_next_desktop(tmp_path):
    c, sim = desk_centre(tmp_path, ("[[agent]]\nname = \"agent1\"", "[[queue]]\nname = \"support\"\n\n"
                                    "[[agent]]\nname = \"agent1\""),
                         ("queues = {{ sales = 0 }}\nlogin = false", "queues = {{ support = 0 }}\nready = false"))
    base = f"http://127.0.0.1:{c.cti.port}"
    a = b = None
    try:
        a, b = browser(tmp_path, "agent1"), browser(tmp_path, "agent2")
        assert login(b, base, "agent2", sim.tick) == "/agent"  # logged in by the configuration, not ready
        click(b, "#ready")
        b.wait("document.querySelector('[data-k=state]').textContent === 'ready'", sim.tick)
        call_id, caller = talking_to_caller(a, c, sim, base)
        assert text(a, "pop.queue") == "sales" and text(a, "pop.data.menu") == "1"
        assert text(b, "pop.caller") == "no call"  # support has had no call yet
        # agent1 writes a note and a variable, then transfers to the support queue
        a.evaluate(f"document.getElementById('xnote').value={NOTE!r};"
                   "document.getElementById('xkey').value='invoice';document.getElementById('xval').value='2026-114';"
                   "document.getElementById('xfer').value='queue:support';true")
        click(a, "#transfer")
        a.wait("document.getElementById('callstate').textContent === 'transferred to queue:support'", sim.tick)
        a.wait("document.querySelector('[data-k=state]').textContent === 'wrapup'", sim.tick)
        a.screenshot(str(tmp_path / "agent1-transferred.png"))
        # agent2's desktop pops with the caller, the IVR data and agent1's note
        b.wait(f"document.querySelector('[data-k=\"pop.caller\"]').textContent === '{CALLER}'", sim.tick, 60)
        assert text(b, "pop.call") == call_id and text(b, "pop.queue") == "support"
        assert text(b, "pop.data.menu") == "1" and text(b, "pop.data.note") == NOTE
        assert text(b, "pop.data.invoice") == "2026-114" and text(b, "state") == "ringing"
        assert b.evaluate("document.getElementById('cnum').value") == CALLER  # the customer lookup follows
        b.screenshot(str(tmp_path / "agent2-screen-pop.png"))
        click(b, "#answer")
        b.wait("document.querySelector('[data-k=state]').textContent === 'talking'", sim.tick)
        assert c.acd.agents["agent2"].call == call_id and c.acd.agents["agent1"].activity == "wrapup"
        assert text(b, "pop.data.note") == NOTE  # the answered pop keeps it
        b.screenshot(str(tmp_path / "agent2-talking.png"))
        click(b, "#hangup")
        assert until(sim, lambda: caller.ended is not None and not c.engine.calls and not c.engine.leaks(), 30)
        c.writer.flush()
        (row,) = [r for r in c.store.cdrs() if r["call_id"] == call_id]
        assert row["vars"]["note"] == NOTE and row["vars"]["invoice"] == "2026-114" and row["agent"] == "agent2"
        for page in (a, b):
            assert page.evaluate("document.body.getAttribute('data-error')") is None
    finally:
        for page in (a, b):
            if page is not None:
                page.close()
        sim.close()
