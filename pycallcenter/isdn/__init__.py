"""ISDN PRI signalling: Q.921 LAPD (lapd.py, frame.py), Q.931 codecs (q931.py, ie.py) and call control (call.py)."""
