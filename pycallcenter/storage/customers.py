"""The agent desktop's customer records: one row per caller number (name, notes, free fields), the
contact history the screen pop shows (previous calls with their wrap-up codes and notes, and callback
requests), and the wrap-up an agent saves into a call's CDR.

Everything runs on the engine's thread (the CTI hub's per-tick poll), on the centre's one Store.
"""
import datetime as _dt

MAX_TEXT = 4000  # characters of a name or notes field kept (a desktop is not a document store)
MAX_FIELDS = 32  # free fields on one customer record


def _now_iso():
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _text(value, what):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    return value[:MAX_TEXT]


class Customers:
    """Customer records, contact history and wrap-ups on a Store (callbacks: the centre's CallbackStore)."""

    def __init__(self, store, callbacks=None, run=None):
        self.store, self.callbacks, self.run = store, callbacks, run

    def get(self, number):
        """Return the customer record of a number ({'number', 'name', 'notes', 'data', 'updated', ...}) or None."""
        rows = self.store.select("customers", "appliance = ? AND number = ?", (self.store.appliance, number),
                                 order="id DESC", limit=1)
        return rows[0] if rows else None

    def save(self, number, name=None, notes=None, data=None, by=""):
        """Create or change a number's record (fields left None keep their value); return the record."""
        if not isinstance(number, str) or not number or len(number) > 40:
            raise ValueError("number must be 1..40 characters")
        if data is not None and (not isinstance(data, dict) or len(data) > MAX_FIELDS
                                 or not all(isinstance(k, str) and isinstance(v, (str, int, float))
                                            for k, v in data.items())):
            raise ValueError(f"data must be an object of at most {MAX_FIELDS} text or number fields")
        old = self.get(number)
        row = {"number": number, "name": _text(name, "name") if name is not None else (old or {}).get("name", ""),
               "notes": _text(notes, "notes") if notes is not None else (old or {}).get("notes", ""),
               "data": data if data is not None else (old or {}).get("data") or {},
               "updated": _now_iso(), "updated_by": by}
        if old is None:
            self.store.add("customers", row)
        else:
            self.store.update("customers", row, "id = ?", (old["id"],))
        return self.get(number)

    def history(self, number, limit=20):
        """Return the number's previous calls (newest first: time, queue, agent, disposition, wrap-up code and
        notes) and its callback requests."""
        calls = self.store.select("cdr", "appliance = ? AND caller = ?", (self.store.appliance, number),
                                  order="start_time DESC, id DESC", limit=limit)
        out = {"calls": [{"call": r["call_id"], "run": r["run"], "time": r["start_time"], "queue": r["queue"],
                          "agent": r["agent"], "disposition": r["disposition"], "talk": r["talk"],
                          "wrapup_code": r["wrapup_code"], "wrapup_notes": r["wrapup_notes"]} for r in calls],
               "callbacks": []}
        if self.callbacks is not None:
            rows = self.callbacks.db.execute(
                "SELECT id, requested_at, due_at, queue, state, caller, outcome FROM callbacks WHERE number = ? "
                "ORDER BY id DESC LIMIT ?", (number, int(limit))).fetchall()
            out["callbacks"] = [dict(zip(("id", "requested_at", "due_at", "queue", "state", "by", "outcome"), r))
                                for r in rows]
        return out

    def wrapup(self, call_id, agent, code, notes):
        """Save an agent's disposition code and notes into the call's CDR; return True when the CDR is
        written (False: it is not yet, and the caller should try again once it is)."""
        where, params = ("call_id = ?", (call_id,)) if self.run is None else ("run = ? AND call_id = ?",
                                                                               (self.run, call_id))
        if not self.store.select("cdr", f"appliance = ? AND {where}", (self.store.appliance, *params), limit=1):
            return False
        self.store.update("cdr", {"wrapup_code": code, "wrapup_notes": _text(notes, "notes"), "wrapup_agent": agent},
                          where, params)
        return True
