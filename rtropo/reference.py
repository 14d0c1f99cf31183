"""The launch reference: the session parameter that ties a callback to its launch."""

import secrets

#: The Session API parameter that Tropo hands back in the callback's ``parameters``.
REFERENCE_PARAMETER = "rtropo_ref"


def new_reference() -> str:
    """A fresh, unguessable reference for one launch."""
    return secrets.token_urlsafe(32)
