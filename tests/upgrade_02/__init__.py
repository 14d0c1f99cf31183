"""A port of rapidsms-tropo 0.2.0's own test project (``runtests.py``'s settings and
``rtropo/tests/urls.py``), changed only where Django removed the APIs it used."""
