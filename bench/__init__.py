"""Hubbub's benchmark suite: ``make bench`` (``python -m bench``).

Every number is measured in one run next to this machine's ceilings (a bare ASGI endpoint,
the same endpoint inserting a SQLite row per request, raw SQLite inserts), so the ratios hold
on a noisy machine even when the absolute numbers drift. See ``bench/README.md``.
"""
