"""`pycallcenter status`: spans, alarms, channels, calls, queues and agents of a running centre, read
from the status file `pycallcenter run` rewrites every second (or from a database's live_status table)."""
import json
import os
import time

from pycallcenter.commands._status_file import read_status

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.

STALE_SECONDS = 10.0


def register(subparsers):
    """Add the status command to the CLI."""
    p = subparsers.add_parser("status", help="show the live state of a running centre")
    p.add_argument("--data", default="data", help="data folder of the running centre (default ./data)")
    p.add_argument("--db", help="read every appliance's live status from this database instead")
    p.add_argument("--json", action="store_true", help="print the raw status JSON")
    p.set_defaults(func=run)


def _alive(pid):
    try:
        os.kill(int(pid), 0)
    except (OSError, ValueError, TypeError):
        return False
    return True


def format_status(s, now=None):
    """Return the status of one appliance as text."""
    now = time.time() if now is None else now
    age = now - s.get("updated", now)
    state = s.get("state", "?")
    if state == "running" and (age > STALE_SECONDS or ("pid" in s and not _alive(s["pid"]))):
        state = f"not responding (last update {age:.0f} s ago)"
    out = [f"appliance {s.get('appliance', '?')}: {state}, board time {s.get('board_seconds', 0):.1f} s, "
           f"{s.get('cdrs_written', 0)} CDR(s) written"]
    out.append(f"{'span':>4} {'kind':<4} {'alarms':<16} {'in use':>9}")
    for sp in s.get("spans", []):
        out.append(f"{sp['span']:>4} {sp['kind']:<4} {'+'.join(sp['alarms']) or 'OK':<16} {sp['in_use']:>4}/{sp['channels']:<4}")
    for ls in s.get("ss7", []):
        links = ", ".join(f"span {l['span']} slc {l['slc']} {'up' if l['up'] else 'DOWN'}" for l in ls["links"])
        out.append(f"ss7 link set {ls['linkset']} (opc {ls['opc']} -> dpc {ls['dpc']}): route "
                   f"{'up' if ls['route_up'] else 'DOWN'}, {sum(l['up'] for l in ls['links'])}/{len(ls['links'])} link(s) up"
                   f" ({links}), circuits {ls['in_use']}/{ls['circuits']} in use, {ls.get('blocked', 0)} blocked")
    calls = s.get("calls", {})
    out.append(f"calls: {calls.get('active', 0)} active "
               + " ".join(f"{k}={v}" for k, v in sorted(calls.get("by_state", {}).items())))
    for c in calls.get("list", []):
        out.append(f"  {c['call']:<8} {c['caller'] or '-':>14} -> {c['called'] or '-':<10} ch {','.join(map(str, c['channels'])) or '-':<8}"
                   f" {c['seconds']:>7.1f} s  {c.get('queue') or ''} {c.get('agent') or ''}".rstrip())
    for q in s.get("queues", []):
        sl = "-" if q["service_level"] is None else f"{100 * q['service_level']:.0f}%"
        if q.get("sl_seconds") is not None:  # older status files lack the definition
            sl += f" ({q['sl_seconds']:g} s, {q['sl_mode']})"
        out.append(f"queue {q['queue']}: waiting {q['waiting']} (longest {q['longest_wait']:.0f} s), offered {q['offered']},"
                   f" answered {q['answered']}, abandoned {q['abandoned']}, SL {sl}")
    sip = s.get("sip")
    if sip:
        ports = ", ".join(f"{k} {v}" for k, v in sorted(sip.get("transports", {}).items())) or "-"
        up = sum(sip.get("calls", {}).values())
        out.append(f"sip: {ports}; {up} call(s) up, {sip.get('calls_in', 0)} in, {sip.get('calls_out', 0)} out,"
                   f" {sip.get('refused', 0)} refused, {sip.get('srtp_calls', 0)} with SRTP")
        trunks = ", ".join(f"{k} {'up' if v == 'up' else 'DOWN'}" for k, v in sorted(sip.get("trunks", {}).items()))
        if trunks:
            out.append(f"  trunks (OPTIONS keepalive): {trunks}")
        if sip.get("registered"):
            out.append(f"  phones registered: {', '.join(sip['registered'])}")
    if s.get("agents"):
        out.append("agents: " + ", ".join(f"{a['agent']} {a['state']}" for a in s["agents"]))
    st = s.get("store")
    if st and (st.get("backlog") or st.get("failures")):
        out.append(f"database: {st['backlog']} transaction(s) waiting, {st['failures']} failure(s); last: {st.get('last_error')}")
    adm = s.get("admission")
    if adm:
        limits = [f"{k} {adm[k]:g}" for k in ("max_calls", "max_call_rate") if adm.get(k) is not None]
        out.append(f"overload control: {adm['admitted']} call(s) admitted, {adm['refused_total']} refused ("
                   + ", ".join(f"{k} {v}" for k, v in sorted(adm["refused"].items()))
                   + ("; the guard refuses new calls now)" if adm["guard_engaged"] else ")")
                   + (f"; limits: {', '.join(limits)}" if limits else ""))
    t = s.get("ticks")
    if t and t.get("count"):
        out.append(f"ticks: {t['count']}, mean {1000 * t['seconds_total'] / t['count']:.2f} ms, "
                   f"max {1000 * t['max']:.2f} ms, overruns {t['overruns']}")
    return "\n".join(out)


def run(args):
    """Print the status; return 0, or 1 when no centre has published one."""
    if args.db:
        from pycallcenter.storage import open_store

        store = open_store(args.db, create=False)
        try:
            statuses = list(store.live_status().values())
        finally:
            store.close()
    else:
        path = os.path.join(args.data, "status.json")
        if not os.path.exists(path):
            print(f"pycallcenter status: no {path}: is `pycallcenter run` running with --data {args.data}?")
            return 1
        statuses = [read_status(args.data)]
    if not statuses:
        print("pycallcenter status: no appliance has published a status in that database")
        return 1
    if args.json:
        print(json.dumps(statuses if args.db else statuses[0], indent=1, sort_keys=True))
    else:
        print("\n\n".join(format_status(s) for s in statuses))
    return 0
