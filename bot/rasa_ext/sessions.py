"""One HTTP session per endpoint, kept open, so calls to the action server reuse their connections.

Rasa: `EndpointConfig.request` opens a new `aiohttp.ClientSession` (`EndpointConfig.session`) for every request
to an endpoint (the action server, and any other endpoint in endpoints.yml) and closes it afterwards, so every
call sets up and tears down a TCP connection on both servers (the cost is in bench/results/load.md).

The patch: `EndpointConfig.session` makes each endpoint's session once, the way Rasa makes it (same headers, auth
and timeout), keeps it on the endpoint, and hands it out in an `async with` that leaves it open; the request itself
is Rasa's, unchanged. A session is reused only while it is open, and aiohttp replaces a pooled connection the other
side closed (the API restarted, say) on the next call, so calls behave as before, over a connection that stays up.
Sessions are made in the Rasa server's one event loop, the loop they belong to; an endpoint copied with
`EndpointConfig.copy` gets a session of its own.
"""

from __future__ import annotations

import aiohttp
from rasa.utils.endpoints import EndpointConfig

KEPT_ON_ENDPOINT = "_tierzero_session"


class _Open:
    """`async with` on a session that stays open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: object) -> None:
        return None


_new_session = EndpointConfig.session  # Rasa's own, kept before any patch is installed


def kept_session(endpoint: EndpointConfig) -> _Open:
    """`EndpointConfig.session`, made once per endpoint and kept open."""
    session = endpoint.__dict__.get(KEPT_ON_ENDPOINT)
    if session is None or session.closed:
        session = endpoint.__dict__[KEPT_ON_ENDPOINT] = _new_session(endpoint)
    return _Open(session)


PATCHES = ((EndpointConfig, "session", kept_session),)
