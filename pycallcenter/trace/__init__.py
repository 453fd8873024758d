"""Signalling traces: pcap/pcapng files Wireshark opens, and one-line logs."""
