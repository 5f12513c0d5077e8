"""Operating-system helpers below every layer: process lifetime (procs.py) and private files (private_files.py)."""
