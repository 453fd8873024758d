"""The wallboard: one self-contained web page (no CDN) served by the CTI server, drawing live queue
figures and SVG charts from ``/api/snapshot``."""
