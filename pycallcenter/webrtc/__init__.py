"""Browser phones over WebRTC (aiortc): peer connections whose audio rides the engine's in-process packet rows.

``phones.PhoneServer`` runs aiortc on its own asyncio thread (ICE, DTLS-SRTP, Opus or G.711, a data channel
for ringing and call control); ``audio`` moves 20 ms frames between a peer connection and a row's
``LocalPort``. The engine adapter is ``pycallcenter.engine.webrtc``; the signalling route is the CTI server's
``/phone/offer`` (docs/cti.md "Browser phone"). Needs the ``webrtc`` extra (aiortc).
"""
