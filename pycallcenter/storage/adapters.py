"""Small adapters that put other parts' records into the store: fax inbox records and voicemail
messages. They take plain dicts/fields so the fax and voicemail code need not know about storage."""
import datetime as _dt


def _now_iso():
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def fax_logger(store, direction="in"):
    """Return an ``on_record`` callback for FaxInbox that writes each record to fax_log."""
    def on_record(record):
        store.add("fax_log", fax_row(record, direction))
    return on_record


def fax_row(record, direction="in"):
    """Return the fax_log row for a FaxInbox record dict."""
    rest = {k: v for k, v in record.items() if k not in ("call", "caller", "called", "ok", "pages", "remote_ident", "tiff")}
    return {"call_id": record.get("call"), "created": record.get("created") or _now_iso(), "direction": direction,
            "caller": record.get("caller"), "called": record.get("called"), "ok": int(bool(record.get("ok"))),
            "pages": record.get("pages"), "remote_ident": record.get("remote_ident"), "path": record.get("tiff"),
            "data": rest}


def index_voicemail(store, mailbox, message_id, path, caller="", seconds=None, call_id=None, folder="INBOX",
                    heard=False, created=None, **data):
    """Write one voicemail message to voicemail_index."""
    store.add("voicemail_index", {"mailbox": str(mailbox), "message_id": str(message_id), "path": path,
                                  "caller": caller, "seconds": seconds, "call_id": call_id, "folder": folder,
                                  "heard": int(bool(heard)), "created": created or _now_iso(), "data": data})


def voicemail_indexer(store):
    """Return an ``on_message`` callback for apps.voicemail.Voicemail that indexes each new message."""
    def on_message(message):
        index_voicemail(store, message.mailbox, message.id, message.path, caller=message.caller,
                        seconds=message.seconds, folder=message.state, created=message.received)
    return on_message
