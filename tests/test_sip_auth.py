"""Digest authentication: RFC 7616 3.9.1 and RFC 2617 3.5 vectors, client/server round trips, stale nonces."""
import pytest

from pycallcenter.errors import DecodeError
from pycallcenter.sip import auth as A

CHALLENGE_7616 = ('Digest realm="http-auth@example.org", qop="auth, auth-int", algorithm={alg}, '
                  'nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", '
                  'opaque="FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS"')
CNONCE_7616 = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"


@pytest.mark.parametrize("alg, expected", [
    ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
    ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
])
def test_rfc7616_example_vectors(alg, expected):
    client = A.DigestClient("Mufasa", "Circle of Life", cnonce_factory=lambda: CNONCE_7616)
    value = client.authorization(CHALLENGE_7616.format(alg=alg), "GET", "/dir/index.html")
    scheme, p = A.parse_params(value)
    assert scheme == "Digest" and p["response"] == expected
    assert (p["nc"], p["qop"], p["cnonce"], p["opaque"]) == ("00000001", "auth", CNONCE_7616,
                                                             "FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
    assert 'qop=auth,' in value and 'uri="/dir/index.html"' in value


def test_rfc2617_example_vector():
    assert A.digest_response(algorithm="MD5", username="Mufasa", realm="testrealm@host.com",
                             password="Circle Of Life", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
                             method="GET", uri="/dir/index.html", qop="auth", nc="00000001",
                             cnonce="0a4f113b") == "6629fae49393a05397450978507c4ef1"


def test_nc_counts_per_nonce():
    client = A.DigestClient("alice", "pw", cnonce_factory=lambda: "c")
    ch = 'Digest realm="r", nonce="n1", qop="auth"'
    ncs = [A.parse_params(client.authorization(ch, "REGISTER", "sip:r"))[1]["nc"] for _ in range(3)]
    assert ncs == ["00000001", "00000002", "00000003"]
    other = A.parse_params(client.authorization(ch.replace("n1", "n2"), "REGISTER", "sip:r"))[1]["nc"]
    assert other == "00000001"


def _server(now_lifetime=300.0):
    return A.DigestServer("pycc.example", b"secret", {"alice": "wonderland"}.get, lifetime=now_lifetime)


@pytest.mark.parametrize("algorithm", ["SHA-256", "MD5", "SHA-256-sess", "MD5-sess"])
def test_server_accepts_its_own_challenge_answered(algorithm):
    server = _server()
    chal = next(c for c in server.challenges(100.0) if A.Challenge.parse(c).algorithm == algorithm.split("-s")[0])
    chal = chal.replace(f"algorithm={algorithm.split('-s')[0]}", f"algorithm={algorithm}")
    value = A.DigestClient("alice", "wonderland").authorization(chal, "INVITE", "sip:bob@pycc.example")
    assert server.check(value, "INVITE", 150.0) == (A.OK, "alice")
    assert server.check(value, "BYE", 150.0) == (A.FAILED, "alice")  # the method is part of the digest
    wrong = A.DigestClient("alice", "nope").authorization(chal, "INVITE", "sip:bob@pycc.example")
    assert server.check(wrong, "INVITE", 150.0)[0] == A.FAILED


def test_auth_int_covers_the_body():
    server = _server()
    chal = server.challenges(0.0)[0].replace('qop="auth"', 'qop="auth-int"')
    value = A.DigestClient("alice", "wonderland").authorization(chal, "MESSAGE", "sip:b@x", body=b"hello")
    assert A.parse_params(value)[1]["qop"] == "auth-int"
    assert server.check(value, "MESSAGE", 1.0, body=b"hello")[0] == A.OK
    assert server.check(value, "MESSAGE", 1.0, body=b"hellO")[0] == A.FAILED


def test_stale_and_forged_nonces():
    server = _server(now_lifetime=30.0)
    chal = server.challenges(0.0)[0]
    value = A.DigestClient("alice", "wonderland").authorization(chal, "REGISTER", "sip:pycc.example")
    assert server.check(value, "REGISTER", 29.0)[0] == A.OK
    assert server.check(value, "REGISTER", 31.0)[0] == A.STALE
    again = server.challenges(31.0, stale=True)
    assert all(A.Challenge.parse(c).stale for c in again)
    other = A.DigestServer("pycc.example", b"other secret", {"alice": "wonderland"}.get)
    assert other.check(value, "REGISTER", 1.0)[0] == A.FAILED  # a nonce minted with another secret
    assert server.check(value.replace("Digest", "Basic"), "REGISTER", 1.0)[0] == A.FAILED
    assert server.check("Digest garbage", "REGISTER", 1.0)[0] == A.FAILED


def test_client_prefers_the_strongest_challenge():
    server = _server()
    values = list(reversed(server.challenges(0.0)))  # MD5 first on the wire
    assert A.DigestClient.choose(values).algorithm == "SHA-256"
    assert A.DigestClient.choose(['Digest realm="r", nonce="n", algorithm=MD5']).algorithm == "MD5"
    with pytest.raises(ValueError):
        A.DigestClient.choose(['Digest realm="r", nonce="n", algorithm=SHA-1'])


def test_malformed_header_values_raise_decode_error_with_offset():
    for value, offset in (('Digest realm="r', 13), ("Digest realm", 12), (" ", 1), ("Digest realm=r nonce=n", 15)):
        with pytest.raises(DecodeError) as err:
            A.Challenge.parse(value)
        assert err.value.element == "WWW-Authenticate" and err.value.offset == offset, value
    with pytest.raises(DecodeError):
        A.Challenge.parse('Digest realm="r"')  # no nonce
