"""Port of the part of rapidsms-tropo 0.2.0's ``rtropo/tests/utils.py`` that its urls use."""

BACKEND_NAME = "tropobackend"
