"""SIP: message parse and build rates against the standard library's RFC 5322 header parser (email.parser, which
splits header lines but checks no SIP grammar) in the same run, and complete non-INVITE and INVITE
transactions per second through two transaction layers back to back."""
import email.parser
import email.policy
import os
import sys

from pycallcenter.sip import transaction as T
from pycallcenter.sip.message import make_response, parse_message

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from sip_pair import request  # noqa: E402  (test helpers shared with tests/)
from sip_torture import CANONICAL  # noqa: E402

HEAD = CANONICAL[:CANONICAL.index(b"\r\n\r\n") + 4]
REQUEST_LINE_END = CANONICAL.index(b"\r\n") + 2


def test_parse_invite(benchmark):
    msg = benchmark(parse_message, CANONICAL)
    assert msg.method == "INVITE" and len(msg.body) == 150


def test_parse_invite_and_read_key_headers(benchmark):
    """Parse plus the typed views a transaction layer reads (top Via, CSeq, From, To)."""
    def run():
        m = parse_message(CANONICAL)
        return m.top_via.branch, m.cseq, m.from_.tag, m.to.tag
    assert benchmark(run)[0] == "z9hG4bK74bf9"


def test_yardstick_email_header_parser(benchmark):
    """The standard library splitting the same header block into fields (no SIP checks at all)."""
    parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
    headers = benchmark(parser.parsebytes, HEAD[REQUEST_LINE_END:])
    assert headers["Call-ID"] == "3848276298220188511@atlanta.example.com"


def test_build_invite(benchmark):
    msg = parse_message(CANONICAL)
    assert benchmark(msg.encode) == CANONICAL


def _transaction(method, branch):
    a = T.TransactionLayer()
    b = T.TransactionLayer()
    req = request(method, branch=branch)
    _, out = a.send_request(req, 0.0)
    got = b.receive(out[0].data, 0.0)
    answer = make_response(got[0].request, 200, to_tag="t")
    for item in b.send_response(answer, 0.0, got[0].key):
        if isinstance(item, T.Transmit):
            a.receive(item.data, 0.0)
    return a, b


def test_options_transaction_pair(benchmark):
    a, _ = benchmark(_transaction, "OPTIONS", "z9hG4bKbench")
    assert len(a.transactions) == 1  # in Completed, waiting for timer K


def test_invite_transaction_pair(benchmark):
    a, _ = benchmark(_transaction, "INVITE", "z9hG4bKbench")
    assert next(iter(a.transactions.values())).state == T.ACCEPTED

