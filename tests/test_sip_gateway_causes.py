"""Q.850 <-> SIP status mapping (RFC 3398) and the Reason header (RFC 3326) as the SIP legs use them."""
import pytest

from pycallcenter.sip import causes


@pytest.mark.parametrize("status,cause", [(486, 17), (404, 1), (480, 18), (408, 102), (403, 21), (503, 41),
                                          (600, 17), (603, 21), (604, 1), (484, 28), (410, 22), (502, 38)])
def test_status_to_cause_follows_rfc_3398(status, cause):
    assert causes.cause_of_status(status) == cause


@pytest.mark.parametrize("cause,status", [(17, 486), (1, 404), (18, 408), (19, 480), (21, 403), (34, 503),
                                          (38, 503), (41, 503), (28, 484), (102, 504), (127, 500), (65, 488)])
def test_cause_to_status_follows_rfc_3398(cause, status):
    assert causes.status_of_cause(cause) == status


def test_unlisted_values_fall_back_to_their_class():
    assert causes.cause_of_status(499) == causes.cause_of_status(400) == 41  # RFC 3261 8.1.3.2: as x00
    assert causes.cause_of_status(599) == 41
    assert causes.cause_of_status(699) == 17
    assert causes.status_of_cause(24) == 480  # normal event class
    assert causes.status_of_cause(44) == 503  # resource unavailable
    assert causes.status_of_cause(96) == 500  # protocol error
    assert causes.cause_of_status(487) == 16  # our own CANCEL: cleared normally


def test_busy_and_not_found_round_trip():
    for cause in (17, 1, 21, 28, 22):
        assert causes.cause_of_status(causes.status_of_cause(cause)) == cause


def test_reason_header_carries_the_cause_both_ways():
    value = causes.reason_header(17)
    assert value == 'Q.850;cause=17;text="user busy"'
    assert causes.cause_of_reason([value]) == 17
    assert causes.cause_of_reason(['SIP;cause=200;text="Call completed, elsewhere", Q.850;cause=26']) == 26
    assert causes.cause_of_reason(["q.850 ; cause = 34"]) == 34
    assert causes.cause_of_reason(["SIP;cause=486"]) is None
    assert causes.cause_of_reason(["Q.850;cause=999"]) is None
    assert causes.cause_of_reason(["Q.850;text=x"]) is None
    assert causes.cause_of_reason([]) is None
