"""Whatever a far end sends, a G.722 row keeps ticking: the packet media fuzz plans (good, lost, reordered,
duplicated, truncated, oversized, foreign and garbage packets, events, comfort noise, SSRC changes) played
against a row carrying G.722, its audio G.722 and its peer sending payload type 9. Short in the default run;
the `fuzz` marker runs many more."""
import numpy as np
import pytest
from hypothesis import given, settings

import test_packet_media_fuzz as fuzz
from pycallcenter.media import g722
from test_g722_media import open_g722
from test_packet_media import Peer

pytestmark = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")


class _G722Audio:
    """Stands in for the fuzz module's g711: the audio its plans send is G.722."""

    @staticmethod
    def ulaw_encode(samples):
        """Return samples coded as G.722 (a fresh encoder: one continuous stream)."""
        return np.frombuffer(g722.codec().encode(samples), np.uint8)


def _play_g722(plan):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fuzz, "endpoint", lambda eng, remote: open_g722(eng, remote))
        mp.setattr(fuzz, "g711", _G722Audio)
        mp.setattr(fuzz, "Peer", lambda target, **kw: Peer(target, pt=9, **kw))
        fuzz._play(plan)


@settings(max_examples=15, deadline=None)
@given(fuzz.plans)
def test_any_far_end_leaves_a_g722_row_ticking(plan):
    _play_g722(plan)


@pytest.mark.fuzz
@settings(max_examples=500, deadline=None)
@given(fuzz.plans)
def test_any_far_end_leaves_a_g722_row_ticking_long(plan):
    _play_g722(plan)
