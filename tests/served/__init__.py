"""The quickstart's project under gunicorn (and nginx), in subprocesses on loopback.

What a server writes is tested here: its logs, the ADMINS mail of an error,
and how it holds up against slow clients. The project is the test settings
with ``DEBUG`` off and the quickstart's URLconf (``urls``); ``SERVED_*``
environment variables name its database, where its error reports go and the
Session API it launches with.
"""

#: The inbound secret of the served backend.
SECRET = "served-inbound-secret"
