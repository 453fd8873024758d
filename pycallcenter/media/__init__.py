"""Media for packet legs (RTP): the adaptive jitter buffer and the glue from its frames to concealment."""
