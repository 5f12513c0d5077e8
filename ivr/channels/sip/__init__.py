"""SIP channel: a plain UDP SIP endpoint (aiosipua) with our own RTP media path.

Every import of aiosipua/aiortp stays inside this package, so the stack stays replaceable.
"""
