"""How a database's location is printed, everywhere: logs, stderr, /api/status,
ping, `chatnut status`, `db copy` and every error that names it.

A SQLite file is its path. A PostgreSQL URL keeps what says where the data
is — scheme, user, host, port, database and the connection parameters — and
loses every form of secret: the password after `user:`, and the `password`,
`passfile`, `sslpassword` (any parameter whose name holds "pass")
parameters of the query. Nothing else in chatnut formats a database URL.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

URL_SCHEMES = ("postgresql://", "postgres://")


def printable(location: str | Path) -> str:
    """The database's location with no password in any form."""
    text = str(location)
    if not text.startswith(URL_SCHEMES):
        return text
    try:
        parts = urlsplit(text)
        user = parts.username
        host = parts.netloc.rpartition("@")[2]
    except ValueError:  # not even a URL: say which kind it was, nothing more
        return text.partition("://")[0] + "://…"
    netloc = f"{user}@{host}" if user else host
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if "pass" not in name.lower()
    ]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), ""))


def url_has_password(url: str) -> bool:
    """Whether a database URL carries a password itself (after `user:`, or `?password=`)."""
    try:
        parts = urlsplit(url)
        inline = parts.password is not None
    except ValueError:
        return False
    query = parse_qsl(parts.query, keep_blank_values=True)
    return inline or any(name.lower() == "password" for name, _ in query)
