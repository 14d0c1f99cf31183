"""Benchmarks of rapidsms-tropo against the 0.2.0 package and RapidSMS's own backends.

Run them with ``python benchmarks/run.py`` (``--quick`` for a smoke run).
"""
