"""A tiny app of the demo: ``manage.py demo_send`` texts phones from the app."""
