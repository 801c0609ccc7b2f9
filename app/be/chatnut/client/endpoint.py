"""Where the running server is, and how the CLI and the bridge talk to it.

The local server is reached on 127.0.0.1 only (a
proxy on the way would see the token): the port comes
from server.port when a server holds this home's lock (with `--port 0` that
file is the truth), otherwise from the port setting. A remote (team) server
is reached only when named (`--url` / `CHATNUT_URL`). With a token configured,
every request carries `Authorization: Bearer`. Plain urllib: the CLI needs
no HTTP library of its own.

The local server, never through a proxy: `HTTP(S)_PROXY` is meant for the
outside world, and a proxy would see every request to a loopback server —
bearer token included — and could not reach 127.0.0.1 on this machine
anyway. urllib's default opener honours the environment's proxies, so those
requests go through an opener with an empty proxy table. A remote server
*is* the outside world: its requests honour the environment's proxies.

Never a redirect: a 3xx would send the bearer token on to whatever host it
names, so it is an error that says where it pointed. And a token sent over
plain http to another machine is warned about, once.
"""

from __future__ import annotations

import fcntl
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from chatnut.server_files import read_int
from chatnut.settings import Settings

LOOPBACK = "127.0.0.1"
REQUEST_TIMEOUT = 30.0


class CliError(Exception):
    """A failure to report in one line and exit non-zero."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> None:
        raise CliError(redirect_refusal(req.full_url, code, newurl))


def redirect_refusal(url: str, code: int, target: str) -> str:
    return (
        f"{url} answered {code}, redirecting to {target}; chatnut does not follow a"
        " redirect with the token: give that address itself (--url) if you trust it"
    )


# No ProxyHandler entries: direct connections only, whatever the environment says.
DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
ENVIRONMENT = urllib.request.build_opener(_NoRedirects())
_warned_plain: set[str] = set()


def warn_plain_http(base: str, token: str | None) -> None:
    """Say once per host that a token is about to cross the network unencrypted."""
    parts = urllib.parse.urlsplit(base)
    host = parts.hostname or ""
    if not token or parts.scheme != "http" or host in _warned_plain or _is_loopback(host):
        return
    _warned_plain.add(host)
    print(
        f"chatnut: warning: sending the token to {host} over plain http; anyone on the"
        " path can read it (use an https:// URL)",
        file=sys.stderr,
    )


def _is_loopback(host: str) -> bool:
    from chatnut.security import is_loopback

    return is_loopback(host)


class NotServed(CliError):
    """The server answered 404 for a route it does not have (not for a missing room)."""


def server_alive(settings: Settings) -> bool:
    """True while a server holds this home's lock (the kernel drops it when it dies)."""
    try:
        handle = open(settings.lock_file)  # noqa: SIM115 — closed below either way
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        handle.close()
    return False


def running_port(settings: Settings) -> int | None:
    return read_int(settings.port_file) if server_alive(settings) else None


@dataclass(frozen=True)
class Endpoint:
    base: str
    token: str | None = None
    remote: bool = False  # named with --url / CHATNUT_URL, not this home's server

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp/"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def open(
        self,
        method: str,
        path: str,
        body: Any = None,
        accept: str = "application/json",
        extra_headers: dict[str, str] | None = None,
        timeout: float | None = REQUEST_TIMEOUT,
    ) -> Any:
        """An open response (the caller reads and closes it); HTTP errors become CliError."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Accept": accept, **self.headers(), **(extra_headers or {})}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.base + path, data, headers, method=method)
        if self.remote:
            warn_plain_http(self.base, self.token)
        try:
            return (ENVIRONMENT if self.remote else DIRECT).open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise _http_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            hint = "start one with `chatnut serve &`"
            if self.remote:
                hint = "check --url / CHATNUT_URL"
            raise CliError(
                f"no chatnut server answers at {self.base} ({_reason(exc)}); {hint}"
            ) from None

    def call(
        self, method: str, path: str, body: Any = None, timeout: float | None = REQUEST_TIMEOUT
    ) -> Any:
        with self.open(method, path, body, timeout=timeout) as response:
            return json.loads(response.read() or b"null")

    def text(self, path: str) -> str:
        with self.open("GET", path, accept="*/*") as response:
            raw: bytes = response.read()
            return raw.decode("utf-8")


class Unauthorized(CliError):
    """The server wants a token this command was not given."""


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    return str(reason if reason is not None else exc)


def _http_error(exc: urllib.error.HTTPError) -> CliError:
    try:
        error = json.loads(exc.read())["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        code, message = "http_error", f"HTTP {exc.code}"
    unrouted = (exc.code, code) in {(404, "not_found"), (405, "method_not_allowed")}
    if unrouted and message in {"Not Found", "Method Not Allowed"}:
        return NotServed(f"this server does not have {exc.url} (an older chatnut?)")
    if exc.code == 401:
        return Unauthorized(f"{message} — set CHATNUT_TOKEN to the server's token")
    return CliError(message)


def locate(settings: Settings) -> Endpoint:
    if settings.url is not None:
        return Endpoint(settings.url, settings.token, remote=True)
    port = running_port(settings)
    if port is None:
        port = settings.port
    return Endpoint(f"http://{LOOPBACK}:{port}", settings.token)


def quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
