"""SIP user agent cost per call: a whole call (INVITE with SDP offer, 200 with our answer, ACK, BYE, 200)
between two sans-IO user agents in memory, against the yardstick of the same messages' two transactions
through two bare transaction layers (what dialogs, SDP offer/answer, timers and events add on top).
Calls per second go in each benchmark's extra_info."""
import random

from pycallcenter.sip import transaction as T
from pycallcenter.sip import ua as U
from pycallcenter.sip.message import make_response, parse_message

A, B = ("192.0.2.1", 5060), ("192.0.2.2", 5060)


def _deliver(agents, source, outputs, now):
    for item in outputs:
        if isinstance(item, U.Send):
            _deliver(agents, item.addr, agents[item.addr].receive(item.data, source, now), now)


def test_call_between_two_user_agents(benchmark):
    agents = {A: U.UserAgent(A, rng=random.Random(1)), B: U.UserAgent(B, rng=random.Random(2))}

    def call():
        call_id, outputs = agents[A].invite("sip:b@192.0.2.2", 0.0)
        _deliver(agents, A, outputs, 0.0)
        _deliver(agents, A, agents[A].bye(call_id, 0.0), 0.0)
        return call_id

    call_id = benchmark(call)
    assert call_id not in agents[A].dialogs and call_id not in agents[B].dialogs
    benchmark.extra_info["calls_per_s"] = round(1 / benchmark.stats.stats.min)


def test_yardstick_the_same_two_transactions_through_bare_layers(benchmark):
    """INVITE/200/ACK and BYE/200 as messages through two transaction layers: no dialog, SDP or events."""
    agents = {A: U.UserAgent(A, rng=random.Random(1)), B: U.UserAgent(B, rng=random.Random(2))}
    wire = []

    def record(source, outputs):
        for item in outputs:
            if isinstance(item, U.Send):
                wire.append(item.data)
                record(item.addr, agents[item.addr].receive(item.data, source, 0.0))

    call_id, outputs = agents[A].invite("sip:b@192.0.2.2", 0.0)
    record(A, outputs)
    record(A, agents[A].bye(call_id, 0.0))
    invite, ok, ack, bye, bye_ok = [parse_message(d) for d in wire[:5]]
    a_layer, b_layer = T.TransactionLayer(), T.TransactionLayer()

    def transactions():
        answered = 0
        for request, response in ((invite, ok), (bye, bye_ok)):
            key, out = a_layer.send_request(request, 0.0)
            for item in out:
                for event in b_layer.receive(item.data, 0.0):
                    if isinstance(event, T.RequestReceived) and event.key is not None:
                        extra = [(n, v) for n, v in list(response.headers)[5:]  # past Via, From, To, Call-ID, CSeq
                                 if n != "Content-Length"]
                        reply = make_response(event.request, response.status, headers=extra, body=response.body)
                        for sent in b_layer.send_response(reply, 0.0, event.key):
                            if isinstance(sent, T.Transmit):
                                answered += sum(isinstance(e, T.ResponseReceived)
                                                for e in a_layer.receive(sent.data, 0.0))
        b_layer.receive(ack.encode(), 0.0)
        a_layer.handle_timer(1e9)
        b_layer.handle_timer(1e9)
        return answered, len(a_layer.transactions) + len(b_layer.transactions)

    assert benchmark(transactions) == (2, 0)
    benchmark.extra_info["calls_per_s"] = round(1 / benchmark.stats.stats.min)
