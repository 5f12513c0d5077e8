"""Operating-system helpers below every layer: process lifetime (procs.py), private files (private_files.py),
recordings (recordings.py) and OS errors as plain sentences (plain_errors.py)."""
