"""Erlang B, Erlang C and Erlang A (M/M/n+M, with abandonment) for staffing a call centre.

All formulas run in O(n) with recursions that stay in [0, 1], so they are stable at thousands of
agents (no factorials or powers of the load). Erlang A's waiting-time figures are computed exactly
on the queue's Markov chain by uniformization rather than by approximation.
"""
import math
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np


def erlang_b(agents, load):
    """Return the blocking probability of an M/M/n/n system with `load` Erlangs offered to n servers."""
    _check(agents, load)
    b = 1.0
    for k in range(1, int(agents) + 1):
        b = load * b / (k + load * b)
    return b


def erlang_c(agents, load):
    """Return the probability that a call waits (M/M/n); 1.0 when the load is not below n."""
    _check(agents, load)
    n = int(agents)
    if load >= n:
        return 1.0
    b = erlang_b(n, load)
    return n * b / (n - load * (1.0 - b))


def _check(agents, load):
    if agents < 0 or int(agents) != agents:
        raise ValueError(f"agents must be a whole number >= 0, got {agents}")
    if not (load >= 0 and math.isfinite(load)):
        raise ValueError(f"load must be a finite number of Erlangs >= 0, got {load}")


@dataclass(frozen=True)
class Prediction:
    """Predicted performance of one staffing level over an interval."""

    agents: int
    load_erlangs: float
    service_level: float  # answered within target_seconds / offered
    asa_seconds: float  # mean wait of answered calls
    occupancy: float  # busy agent time / available agent time
    wait_probability: float
    abandon_rate: float  # 0 for Erlang C
    target_seconds: float
    model: str

    def as_dict(self):
        """Return the prediction as a JSON-able dict."""
        return asdict(self)


def erlang_c_prediction(agents, calls, aht, interval, target_seconds):
    """Return the Erlang C Prediction for `calls` arriving per `interval` seconds with mean handle time `aht`."""
    load = calls * aht / interval
    n = int(agents)
    if n <= load:
        return Prediction(n, load, 0.0, math.inf, 1.0 if n else 0.0, 1.0, 0.0, target_seconds, "erlang_c")
    pw = erlang_c(n, load)
    sl = 1.0 - pw * math.exp(-(n - load) * target_seconds / aht)
    asa = pw * aht / (n - load)
    return Prediction(n, load, sl, asa, load / n, pw, 0.0, target_seconds, "erlang_c")


def erlang_a_prediction(agents, calls, aht, interval, target_seconds, patience):
    """Return the Erlang A Prediction: M/M/n+M with exponential caller patience of mean `patience` seconds.

    Service level counts calls answered within target_seconds over all offered calls (abandoned ones
    included in the denominator); ASA is the mean wait of answered calls.
    """
    if patience <= 0:
        raise ValueError(f"patience must be > 0 seconds, got {patience}")
    lam = calls / interval
    mu = 1.0 / aht
    theta = 1.0 / patience
    n = int(agents)
    load = lam / mu
    _check(n, load)
    # Arrivals see the time-stationary state (PASTA). States 0..n-1: no queue; n+j: j waiting.
    log_below = _log_below_n(lam, mu, n)
    log_tail = _log_queue_tail(lam, mu, theta, n)
    top = max(log_tail.max(), log_below.max() if n else -math.inf)
    below, tail = np.exp(log_below - top), np.exp(log_tail - top)
    total = below.sum() + tail.sum()
    p_below, p_queue = below / total, tail / total  # p_queue[j] = P(n + j in system)
    wait_probability = float(p_queue.sum())
    mean_queue = float((np.arange(p_queue.size) * p_queue).sum())
    abandon_rate = theta * mean_queue / lam if lam else 0.0
    busy = float((np.arange(n) * p_below).sum() + n * wait_probability)
    served_by_t, served_total, served_wait = _served_within(p_queue, n * mu, theta, target_seconds)
    sl = float(p_below.sum() + served_by_t)
    answered = float(p_below.sum() + served_total)
    asa = served_wait / answered if answered else math.inf
    occupancy = busy / n if n else 0.0
    return Prediction(n, load, sl, asa, occupancy, wait_probability, abandon_rate, target_seconds, "erlang_a")


def _log_below_n(lam, mu, n):
    """Return log P(k in system) for k = 0..n-1, relative to log P(n) = 0."""
    if n == 0:
        return np.zeros(0)
    if lam == 0:
        out = np.full(n, -math.inf)
        return out
    k = np.arange(n, 0, -1)  # P(k-1) = P(k) * k mu / lam, walking down from n
    return np.cumsum(np.log(k * mu / lam))[::-1]


def _log_queue_tail(lam, mu, theta, n, drop=40.0):
    """Return log P(n + j) for j = 0.. (relative to P(n)), cut where terms fall e^-drop below the peak."""
    if lam == 0:
        return np.zeros(1)
    # Terms grow while n mu + j theta < lam, then fall; the peak is at j* = (lam - n mu) / theta.
    peak = max(0, math.ceil((lam - n * mu) / theta))
    span = peak + 64
    while True:
        j = np.arange(1, span + 1)
        logs = np.concatenate([[0.0], np.cumsum(np.log(lam / (n * mu + j * theta)))])
        if logs[-1] < logs.max() - drop:
            keep = np.nonzero(logs >= logs.max() - drop)[0][-1] + 1
            return logs[:keep + 1]
        span *= 2


def _served_within(p_queue, service_rate, theta, t):
    """Return (P(waits, answered by t), P(waits, answered), E[wait; waits, answered]) for an arrival.

    An arrival finding j waiting is j+1 queue departures from service: with m callers ahead the head
    of line moves at rate service_rate + m*theta, while the arrival itself abandons at rate theta.
    The absorbing chain is solved by uniformization for the t-limited figure and in closed form
    (a product of competing-risk probabilities) for the unlimited ones.
    """
    J = p_queue.size
    m = np.arange(J)
    move = service_rate + m * theta  # rate from "m ahead" to "m-1 ahead" (or to served at m = 0)
    leave = theta  # the arrival's own abandonment
    # Unlimited horizon: P(answered | j ahead) = prod_{m=0..j} move_m / (move_m + leave)
    step = move / (move + leave)
    answered_given_j = np.cumprod(step)
    served_total = float((p_queue * answered_given_j).sum())
    # E[wait * 1{answered} | j]: sum over stages of expected time spent in the stage, times survival
    stage_time = 1.0 / (move + leave)
    cum_time = np.cumsum(stage_time)
    served_wait = float((p_queue * answered_given_j * cum_time).sum())
    # Time-limited: uniformization on states (m ahead, still waiting) -> absorbed served / abandoned.
    if t <= 0:
        return 0.0, served_total, served_wait
    rate = float((move + leave).max())
    lt = rate * t
    k_max = int(lt + 12 * math.sqrt(lt) + 30)
    prob = p_queue.astype(float).copy()  # mass still waiting, by m ahead
    served = 0.0
    log_w = -lt  # log Poisson weight of k jumps
    cum_served = 0.0
    for k in range(k_max + 1):
        # after k uniformized jumps, the served mass so far is `served`; weight by P(N(t) = k)
        cum_served += math.exp(log_w) * served
        # one jump: from m, move with prob move/rate, abandon with leave/rate, stay otherwise
        moved = prob * (move / rate)
        served += moved[0]
        stay = prob * (1.0 - (move + leave) / rate)
        prob = stay
        prob[:-1] += moved[1:]
        log_w += math.log(lt) - math.log(k + 1) if lt > 0 else -math.inf
    return cum_served, served_total, served_wait


def required_agents(calls, aht, interval, sl_target=0.8, target_seconds=20.0, asa_target=None,
                    max_occupancy=None, shrinkage=0.0, patience=None, max_abandon=None, max_agents=100_000):
    """Return (agents to schedule, Prediction at the agents on the phones) meeting every given target.

    The first n meeting the service level (and ASA, occupancy cap) is found with a doubling search
    then a binary search, since service level rises with n. Shrinkage (breaks, training, absence)
    scales the scheduled headcount: scheduled = ceil(n / (1 - shrinkage)).
    """
    if not all(math.isfinite(x) for x in (calls, aht, interval)) or calls < 0 or aht <= 0 or interval <= 0:
        raise ValueError("calls must be >= 0, aht and interval > 0 (finite numbers)")
    if not 0.0 <= shrinkage < 1.0:
        raise ValueError(f"shrinkage must be in [0, 1), got {shrinkage}")
    if not 0.0 < sl_target < 1.0:
        raise ValueError(f"service level target must be in (0, 1), got {sl_target}")
    if max_occupancy is not None and not 0.0 < max_occupancy <= 1.0:
        raise ValueError(f"occupancy cap must be in (0, 1], got {max_occupancy}")

    def predict(n):
        if patience:
            return erlang_a_prediction(n, calls, aht, interval, target_seconds, patience)
        return erlang_c_prediction(n, calls, aht, interval, target_seconds)

    def ok(p):
        return (p.service_level >= sl_target
                and (asa_target is None or p.asa_seconds <= asa_target)
                and (max_occupancy is None or p.occupancy <= max_occupancy)
                and (max_abandon is None or p.abandon_rate <= max_abandon))

    load = calls * aht / interval
    lo = max(1, int(math.floor(load)) if not patience else int(load // 2))
    if lo > max_agents:  # each prediction costs O(n): 1e12 calls an interval ran for hours before
        raise ValueError(f"no staffing up to {max_agents} agents meets the targets ({load:.4g} Erlangs offered)")
    if ok(predict(lo)):
        hi = lo
        lo = 0
    else:
        hi = max(lo + 1, 2 * lo)
        while not ok(predict(hi)):
            if hi >= max_agents:
                raise ValueError(f"no staffing up to {max_agents} agents meets the targets")
            lo, hi = hi, min(hi * 2, max_agents)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(predict(mid)):
            hi = mid
        else:
            lo = mid
    best = predict(hi)
    scheduled = math.ceil(hi / (1.0 - shrinkage) - 1e-9)
    return scheduled, best
