"""Fax inbox: received faxes as TIFF files with a PNG preview per page and a JSON metadata file.

Everything is written under a temporary name and renamed when complete, so a reader of the inbox
never sees half a fax: a failed or dropped call leaves nothing behind (only a ``fax_log`` record).
``fax_log`` keeps one dict per fax call (the CDR store, another module, subscribes via ``on_record``).
"""
from __future__ import annotations

import json
import logging
import os
from typing import Callable, List, Optional

from pycallcenter.fax.documents import DocumentError, LINES, X_DPI, _run, count_pages
from pycallcenter.fax.session import FaxResult

log = logging.getLogger("pycallcenter.fax")


def write_previews(tiff, stem) -> List[str]:
    """Write one PNG per page of tiff as stem-pN.png (square pixels for viewing); return their paths."""
    paths = []
    for i in range(count_pages(tiff)):
        out = f"{stem}-p{i + 1}.png"
        part = out + ".part.png"
        _run(["convert", f"{tiff}[{i}]", "-resize", f"100%x{100.0 * X_DPI / LINES['fine']:.4f}%!", part],
             f"preview of {tiff}")
        os.replace(part, out)
        paths.append(out)
    return paths


def _write_json(path, data):
    part = path + ".part"
    with open(part, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(part, path)


class FaxInbox:
    """A directory of received faxes; ``await inbox.receive(call)`` takes one and returns its record.

    With ``background=True`` the PNG previews and the JSON metadata are written by one worker thread:
    rendering a page takes a few hundred milliseconds in ImageMagick, far longer than a 20 ms tick, so
    a real-time engine must not wait for it. The record (and ``on_record``) is still given at once, with
    ``previews`` filled in when they are written; ``flush()`` waits for the worker.
    """

    def __init__(self, directory, on_record: Optional[Callable[[dict], None]] = None, previews=True,
                 background=False):
        self.directory = directory
        self.on_record = on_record
        self.previews = previews
        self.fax_log: List[dict] = []
        self._worker = None
        if background:
            from concurrent.futures import ThreadPoolExecutor

            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="fax-previews")
        self._pending = []
        os.makedirs(directory, exist_ok=True)

    def flush(self):
        """Wait until every preview and metadata file queued so far is written."""
        pending, self._pending = self._pending, []
        for job in pending:
            job.result()

    def _name(self, call):
        base = f"fax-{call.id}-{call.engine.now}"
        n, name = 0, base
        while os.path.exists(os.path.join(self.directory, name + ".tif")):
            n += 1
            name = f"{base}-{n}"
        return os.path.join(self.directory, name)

    async def receive(self, call, hangup=True, **options) -> dict:
        """Receive a fax on the call into the inbox (then hang up unless told not to); return the record
        (also appended to fax_log)."""
        from pycallcenter.fax.ivr import receive_fax  # deliberate: needs spandsp; the inbox's records do not

        stem = self._name(call)
        t0 = call.now
        result = await receive_fax(call, stem + ".tif", **options)
        if hangup and call.leg.active:
            await call.hangup()
        return self.file(call, stem, result, t0)

    def _finish(self, record, tiff, stem):
        if self.previews:
            try:
                record["previews"] = write_previews(tiff, stem)
            except DocumentError as exc:
                log.warning("fax %s: previews failed: %s", tiff, exc)
        _write_json(record["metadata"], dict(record))

    def file(self, call, stem, result: FaxResult, started: float) -> dict:
        """Write previews and metadata for a received fax (when it succeeded); return the fax_log record."""
        record = {"call": call.id, "caller": call.caller, "called": call.called, "started": started,
                  "duration": round(call.now - started, 3), "ok": result.ok, "code": result.code, "text": result.text,
                  "pages": result.pages, "remote_ident": result.remote_ident, "bit_rate": result.bit_rate,
                  "ecm": result.ecm, "hangup": result.hangup, "tiff": None, "previews": [], "metadata": None}
        if result.ok and result.path:
            record["tiff"] = result.path
            record["page_info"] = [p.__dict__ for p in result.page_info]
            record["metadata"] = stem + ".json"
            if self._worker is not None:
                self._pending.append(self._worker.submit(self._finish, record, result.path, stem))
            else:
                self._finish(record, result.path, stem)
        else:
            log.warning("fax on call %s not received: %s (code %d)%s", call.id, result.text, result.code,
                        ", line dropped" if result.hangup else "")
        self.fax_log.append(record)
        if self.on_record is not None:
            self.on_record(record)
        return record
