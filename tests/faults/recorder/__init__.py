"""A RapidSMS app that notes every message it receives in a store that survives SIGKILL."""
