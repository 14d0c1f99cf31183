"""Tropo backend for RapidSMS."""

__version__ = "1.0.0"
