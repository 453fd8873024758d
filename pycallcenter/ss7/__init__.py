"""SS7: MTP2 (Q.703), MTP3 (Q.704) and ISUP (Q.763/Q.764, T1.113) as sans-IO state machines and codecs."""
