"""From jitter buffers to a tick of audio: one frame per RTP leg plus the loss mask the concealer wants.

Each tick the engine pops every leg's jitter buffer once, decodes what arrived and hands the batch to
``pycallcenter.dsp.plc.PacketLossConcealer``, which fills the rows whose packet is missing::

    block, lost = pop_block(buffers, now, g711.ulaw_decode)
    audio = concealer.process(block, lost)   # rows = legs, DELAY samples late

A payload of the wrong length (the far end sent another packet time) is treated as lost, never raised:
remote garbage must not stop the tick.
"""
import numpy as np


def pop_block(buffers, now, decode, frame_samples=160):
    """Return (int16 block (legs, frame_samples), bool lost mask (legs,)) from one pop of each buffer."""
    block = np.zeros((len(buffers), frame_samples), np.int16)
    lost = np.ones(len(buffers), bool)
    for row, jb in enumerate(buffers):
        payload = jb.pop(now)
        if payload is not None and len(payload) == frame_samples:
            block[row] = decode(payload)
            lost[row] = False
    return block, lost
