"""Media for the SIP channel: G.711, one shared pacing clock, RTP streams, prompts, DTMF, recording."""
