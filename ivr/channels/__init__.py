"""Channels: one file (or package, for SIP) per wire format. Each turns its wire into engine events and
engine actions back into its wire; none of them decides what the call does."""
