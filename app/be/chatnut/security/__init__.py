"""Who may talk to the server, checked on every request by small ASGI guards in a row.

They sit in front of everything (pages, API, streams and /mcp/). The MCP SDK
has checks of its own, but they cover /mcp/ only, accept any localhost port
as an Origin and answer in plain text; ours are stricter and answer in the
one JSON error shape. Outermost first:

* origin.py — Host, Origin/Sec-Fetch-Site and repeated headers;
* auth.py — who the caller is (bearer token, session cookie), into the
  request's scope, before any body is read; a call for data without
  credentials is refused;
* limits.py — the body's size and the time it may take to arrive;
* page_headers.py — the policy headers on every answer.

The browser's sign-in link (`/auth/link`) is an ordinary route (signin_api.py).
"""

from __future__ import annotations

from chatnut.security.asgi import ASGIApp, Scope, send_error
from chatnut.security.auth import Authentication, Caller, caller_of
from chatnut.security.limits import BodyLimit
from chatnut.security.origin import AllowedNames, HostAndOrigin, is_loopback, split_host
from chatnut.security.page_headers import PageHeaders

__all__ = [
    "ASGIApp",
    "AllowedNames",
    "Authentication",
    "BodyLimit",
    "Caller",
    "HostAndOrigin",
    "PageHeaders",
    "Scope",
    "caller_of",
    "is_loopback",
    "send_error",
    "split_host",
]
