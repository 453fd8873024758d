"""Fax callback: an engine task that dials out and sends a document, retrying on busy, no answer or a
failed fax. It sits above the IVR layer (it dials with the script API), while the fax verbs in
fax/ivr.py sit below it, so IvrCall can offer them."""
from __future__ import annotations

from typing import List, Optional

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.fax.ivr import DEFAULT_TIMEOUT, send_fax
from pycallcenter.ivr import IvrCall, dial as dial_out, wait


async def fax_callback(engine, target, tiff_path, *, attempts=3, interval=60.0, answer_timeout=45.0, ecm=True,
                       ident="", header="", results: Optional[List[dict]] = None, timeout=DEFAULT_TIMEOUT):
    """Place a fax call to target ('trunk/number') and send tiff_path, retrying on busy, no answer or a
    failed fax up to attempts times interval seconds apart. Run it as an engine task
    (``engine.scheduler.spawn(fax_callback(...), name, engine.now)``). Return the list of attempt records."""
    results = [] if results is None else results
    for attempt in range(1, attempts + 1):
        dial = await dial_out(engine, target, answer_timeout)
        record = {"attempt": attempt, "target": target, "outcome": dial.outcome, "at": engine.now / SAMPLE_RATE}
        if dial.outcome == "answered":
            ivr = IvrCall(engine, dial.leg)
            result = await send_fax(ivr, tiff_path, calling=True, ecm=ecm, ident=ident, header=header,
                                    timeout=timeout)
            record.update(outcome="sent" if result.ok else "fax_failed", fax=result.as_dict())
            if dial.leg.active:
                dial.leg.hangup(C.NORMAL_CLEARING)
        engine.log("fax_callback", attempt=attempt, outcome=record["outcome"], target=target)
        results.append(record)
        if record["outcome"] == "sent":
            break
        if attempt < attempts:
            await wait(engine, interval)
    return results
