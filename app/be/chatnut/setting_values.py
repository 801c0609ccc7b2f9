"""How the text of a setting (a flag or an environment variable) becomes its value.

Each parser takes the text as typed and returns the value, or raises
ValueError with a message short enough to print after the setting's name.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected 1/0, true/false, yes/no or on/off, got {text!r}")


def parse_durability(text: str) -> str:
    if text not in {"normal", "full"}:
        raise ValueError(f"expected 'normal' or 'full', got {text!r}")
    return text


def parse_port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be 0..65535, got {port}")
    return port


def parse_non_negative(text: str) -> float:
    value = float(text)
    # NaN fails both comparisons; inf would overflow a timedelta later on.
    if not 0 <= value <= 1e6:
        raise ValueError(f"must be 0..1000000, got {text}")
    return value


def parse_positive_float(text: str) -> float:
    value = float(text)
    if not 0.1 <= value <= 1e9:  # NaN fails too
        raise ValueError(f"must be 0.1..1000000000, got {text}")
    return value


def parse_positive_int(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 2**31 - 1:
        raise ValueError(f"must be 1..{2**31 - 1}, got {value}")
    return value


# A DNS name or an IP address, optionally with a port: what a Host header or an
# Origin's authority may carry. No wildcard: "any name" is the DNS-rebinding
# hole the Host check exists to close.
LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
HOST_NAME = re.compile(rf"(?:{LABEL}\.)*{LABEL}")


def parse_host_name(text: str) -> str:
    name = text.strip().lower()
    if name.startswith("["):
        bare, _, rest = name[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else rest
        valid_ip = True
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            valid_ip = False
        if not valid_ip or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r} is not a host name")
    else:
        bare, _, port = name.partition(":")
        if not HOST_NAME.fullmatch(bare) or (port and not port.isdigit()):
            raise ValueError(
                f"{text!r} is not a host name (a name like chat.example.com, optionally"
                " :PORT; no scheme, path or wildcard)"
            )
    if port and not (port.isdigit() and 0 < int(port) <= 65535):
        raise ValueError(f"{text!r} has a bad port")
    return name


def parse_host_names(text: str) -> tuple[str, ...]:
    names = [part for part in (p.strip() for p in text.split(",")) if part]
    return tuple(dict.fromkeys(parse_host_name(n) for n in names))


def parse_http_url(text: str) -> str:
    """An http(s) origin, optionally with a path prefix (a trailing slash is dropped)."""
    parts = urlsplit(text.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {text!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{text!r} must not carry a query, fragment or user name")
    try:
        parts.port  # noqa: B018 — raises on a bad port
    except ValueError:
        raise ValueError(f"{text!r} has a bad port") from None
    return f"{parts.scheme}://{parts.netloc.lower()}{parts.path}".rstrip("/")


def parse_public_url(text: str) -> str:
    url = parse_http_url(text)
    if urlsplit(url).path:
        raise ValueError(
            f"{text!r} has a path: serve chatnut at the root of its own name"
            " (the page, /api/ and /mcp/ are absolute paths)"
        )
    return url


def parse_server_url(text: str) -> str:
    """A server's base URL; the /mcp/ URL a client registers is taken too."""
    url = parse_http_url(text)
    return url.removesuffix("/mcp")


def parse_non_negative_int(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 1_000_000:
        raise ValueError(f"must be 0..1000000, got {value}")
    return value


def parse_message_bytes(text: str) -> int:
    value = parse_positive_int(text)
    if value > 16 * 1024 * 1024:  # the request cap is six times this, held in memory
        raise ValueError(f"at most 16777216 bytes (16 MiB), got {value}")
    return value


def parse_workers(text: str) -> int:
    value = parse_positive_int(text)
    if value > 64:
        raise ValueError(f"at most 64 workers, got {value}")
    return value


def parse_log_format(text: str) -> str:
    if text not in {"text", "json"}:
        raise ValueError(f"expected 'text' or 'json', got {text!r}")
    return text


def parse_metrics_listen(text: str) -> tuple[str, int]:
    """`127.0.0.1:9108` or `[::1]:9108`: a loopback address, as the listener needs no token."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) <= 65535:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:9108, got {text!r}")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(
            f"{host!r} is not a loopback address: the metrics listener has no token, so it"
            " listens on 127.0.0.1 or ::1 only (use /metrics with the token elsewhere)"
        )
    return host, int(port)
