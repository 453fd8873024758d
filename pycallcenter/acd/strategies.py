"""Routing strategies: which available agent(s) a queue offers its head call to.

Each strategy gets the queue, the call and the candidates (available members who have the call's
skill, in the best penalty tier present, except weighted_random which sees every tier) and returns
the agents to ring: one agent, or several for ring_all (and the first of ring_progressively, which
adds one more agent every ``progressive_step`` seconds).

- ring_all: ring every candidate; the first to answer takes the call.
- linear: the first candidate in the configured member order (top-down hunt).
- round_robin: the next candidate after the member who last answered (memory across calls).
- longest_idle: the candidate idle the longest (since their last call or wrap-up ended).
- fewest_calls: the candidate who answered the fewest calls in this queue.
- least_talk: the candidate with the least talk time in this queue.
- random: a uniform random candidate (the ACD's seeded RNG: runs repeat).
- weighted_random: random over all tiers, weight 1 / (1 + penalty).
- ring_progressively: linear, then one more agent every progressive_step seconds while it rings.
- skills: the highest level in the call's skill, then longest idle.
- priority: longest idle; the queue orders callers by priority level (VIPs jump the queue).
- sticky: the agent who last served this caller within sticky_window seconds, else longest idle.
Ties are always broken by member order, so every run is the same.
"""


def _order(q):
    return lambda a: q.order[a.name]


def _longest_idle(q, cands):
    return min(cands, key=lambda a: (a.idle_since, q.order[a.name]))


def pick(acd, q, call, cands):
    """Return the list of agents to ring for call (empty when nobody fits)."""
    if not cands:
        return []
    s = q.strategy
    if s == "ring_all":
        return sorted(cands, key=_order(q))
    if s in ("linear", "ring_progressively"):
        return [min(cands, key=_order(q))]
    if s == "round_robin":
        n = max(len(q.order), 1)
        return [min(cands, key=lambda a: (q.order[a.name] - q.rr_last - 1) % n)]
    if s in ("longest_idle", "priority"):
        return [_longest_idle(q, cands)]
    if s == "fewest_calls":
        return [min(cands, key=lambda a: (q.served.get(a.name, 0), q.order[a.name]))]
    if s == "least_talk":
        return [min(cands, key=lambda a: (q.talked.get(a.name, 0.0), q.order[a.name]))]
    if s == "random":
        return [acd.rng.choice(sorted(cands, key=_order(q)))]
    if s == "weighted_random":
        ordered = sorted(cands, key=_order(q))
        weights = [1.0 / (1 + q.members[a.name]) for a in ordered]
        return acd.rng.choices(ordered, weights)
    if s == "skills":
        if call.skill is None:
            return [_longest_idle(q, cands)]
        return [min(cands, key=lambda a: (-a.skills.get(call.skill, 0), a.idle_since, q.order[a.name]))]
    if s == "sticky":
        last = acd.last_agent_of.get(call.caller) if call.caller else None
        if last is not None and acd.now - last[1] <= q.sticky_window:
            for a in cands:
                if a.name == last[0]:
                    return [a]
        return [_longest_idle(q, cands)]
    raise AssertionError(f"unknown strategy {s}")  # add_queue validates names
