"""Artifacts of a run: what ``obsscale fit`` writes (``run.json`` and the files it names) and
how it is read back."""
