"""Input checks shared by every transport: one place that says what a good value is.

Each check raises `InvalidInput` with a one-line message that names the
parameter and says what to fix. The limits are exported so the MCP schemas
and the REST models advertise the same numbers the service enforces.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from chatnut.errors import InvalidInput

MAX_NAME = 200  # project, room name, branch, team_name, task_id
MAX_SENDER = 100  # sender, reader, agent_name
MAX_DESCRIPTION = 2000
MAX_STATUS = 500  # also a CHECK in the original's schema
MAX_QUERY = 500
MAX_LIMIT = 1000
MAX_WAIT_SECONDS = 60.0
MESSAGE_TYPES = ("message", "system", "summary")
MAX_RECIPIENTS = 20
ROOM_STATUSES = ("live", "archived", "all")

MENTION = re.compile(r"(?<!\w)@([\w-]+)")
AGENT_NAME = re.compile(r"^[\w-]+$")


def _bad_characters(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL byte"
    for ch in value:
        if "\ud800" <= ch <= "\udfff":
            return "contains a lone surrogate (not valid Unicode text)"
    return None


def text(name: str, value: Any, *, max_chars: int, allow_blank: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{name} must be a string, got {type(value).__name__}")
    if not allow_blank and not value.strip():
        raise InvalidInput(f"{name} must not be empty")
    if len(value) > max_chars:
        raise InvalidInput(f"{name} is {len(value)} characters; the limit is {max_chars}")
    problem = _bad_characters(value)
    if problem:
        raise InvalidInput(f"{name} {problem}")
    return value


def visible(name: str, value: str) -> str:
    """Refuse invisible format characters (Unicode category Cf: bidi controls, zero-width
    spaces and joiners) in a name: they make one name look like another on a page."""
    for ch in value:
        if unicodedata.category(ch) == "Cf":
            raise InvalidInput(
                f"{name} holds the invisible format character U+{ord(ch):04X}"
                f" ({unicodedata.name(ch, 'unnamed')}); names must be visible text"
            )
    return value


def person(name: str, value: Any) -> str:
    """A name someone speaks or reads as (sender, reader): visible text within the limit."""
    return visible(name, text(name, value, max_chars=MAX_SENDER))


def optional_text(name: str, value: Any, *, max_chars: int) -> str | None:
    if value is None:
        return None
    return text(name, value, max_chars=max_chars, allow_blank=True)


def content(value: Any, max_bytes: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"content must be a string, got {type(value).__name__}")
    if not value.strip():
        raise InvalidInput("content must not be empty")
    problem = _bad_characters(value)
    if problem:
        raise InvalidInput(f"content {problem}")
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        raise InvalidInput(
            f"content is {size} bytes; the limit is {max_bytes} bytes — split it into several posts"
        )
    return value


def room_id(value: Any) -> str:
    # Not checked for UUID form: a room is whatever the database holds (an
    # imported or hand-made id included); an unknown one is "not found".
    return text("room_id", value, max_chars=64)


# SQLite's INTEGER (and PostgreSQL's BIGINT): a larger id can name no message,
# and reaching the driver it fails as an overflow that names no parameter.
MAX_ID = 2**63 - 1


def not_boolean(value: Any) -> Any:
    """For number parameters over MCP: `true` is not 1. (Strings of digits stay
    accepted, as the original accepts them.)"""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    return value


def integer(name: str, value: Any, *, minimum: int, maximum: int | None = MAX_ID) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise InvalidInput(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise InvalidInput(f"{name} must be <= {maximum}, got {value}")
    return value


def limit(value: Any) -> int:
    return integer("limit", value, minimum=1, maximum=MAX_LIMIT)


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        allowed = ", ".join(repr(o) for o in options)
        raise InvalidInput(f"{name} must be one of {allowed}, got {value!r}")
    return str(value)


def wait_timeout(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidInput(f"timeout must be a number of seconds, got {value!r}")
    if value < 0:
        raise InvalidInput(f"timeout must be >= 0 seconds, got {value}")
    # Like the original: a longer wait is not an error, it is shortened to the cap.
    return float(min(value, MAX_WAIT_SECONDS))


def agent_name(value: Any) -> str:
    """The registered form: stripped and lower-cased, like the original."""
    person("agent_name", value)
    value = value.strip()
    if not AGENT_NAME.match(value):
        raise InvalidInput(
            f"agent_name {value!r} can only hold letters, digits, '_' and '-' "
            "(so that @name in a message can match it)"
        )
    return value.lower()


def team_name(value: Any) -> str | None:
    if value is None:
        return None
    text("team_name", value, max_chars=MAX_NAME)
    if value in {".", ".."} or "/" in value or "\\" in value or value.startswith("~"):
        raise InvalidInput(
            f"team_name {value!r} must be a plain directory name (no '/', '\\', '..' or '~')"
        )
    return str(value)


def mentioned_names(message: str) -> list[str]:
    """Lower-cased @names in order of first appearance, each once."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(message):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def recipients(value: Any) -> list[str]:
    """`to`: a name or a list of names -> lower-cased, stripped, each once, in order.

    Any sender-like name may be addressed (registered or not): a human, an agent
    that registers later. Matching is case-insensitive, like @mentions.
    """
    if value is None:
        return []
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list):
        raise InvalidInput(f"to must be a name or a list of names, got {type(value).__name__}")
    if len(names) > MAX_RECIPIENTS:
        raise InvalidInput(f"to has {len(names)} names; the limit is {MAX_RECIPIENTS}")
    seen: dict[str, None] = {}
    for name in names:
        seen.setdefault(person("to", name).strip().lower(), None)
    return list(seen)


def addressee(name: str, value: Any) -> str:
    """A name to look messages up for (addressed_to, agent_name of the inbox): lower-cased."""
    return person(name, value).strip().lower()


def agent(value: Any) -> str:
    """`--agent NAME` (the push channel's name): as agents register, lower-cased."""
    name = text("--agent", value, max_chars=MAX_SENDER).strip().lower()
    if not AGENT_NAME.match(name):
        raise InvalidInput(f"--agent must be letters, digits, _ or -, got {value!r}")
    return name
