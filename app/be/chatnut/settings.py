"""Every setting of the server, declared once.

Each entry names its environment variable, its `chatnut serve` flag, its
default and its help text; the CLI parser and docs/configuration.md (written
by `python -m chatnut.settings_doc`) are both derived from `SETTINGS`, so they
cannot drift apart. Precedence: flag, then
environment, then default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from chatnut.db_password import FLAG, read_password_file
from chatnut.setting_values import (
    parse_bool,
    parse_durability,
    parse_host_names,
    parse_http_url,
    parse_log_format,
    parse_message_bytes,
    parse_metrics_listen,
    parse_non_negative,
    parse_non_negative_int,
    parse_port,
    parse_positive_float,
    parse_positive_int,
    parse_public_url,
    parse_server_url,
    parse_workers,
)
from chatnut.store.location import URL_SCHEMES, url_has_password
from chatnut.tokens import file_tokens, split_tokens


@dataclass(frozen=True)
class Setting:
    name: str
    env: tuple[str, ...]
    flag: str | None
    default: Any
    parse: Callable[[str], Any]
    help: str
    metavar: str | None = None
    # A flag given several times (`--allow-host a --allow-host b`): the values
    # are joined as the environment variable would list them (comma separated).
    repeatable: bool = False
    # "serve": a flag of `chatnut serve`; "client": of the terminal commands
    # that talk to a server (status, tail, post, rooms, export, the bridge...).
    scope: str = "serve"
    # How the docs show the default when the value alone would not say it
    # (None standing for "beside the home", 0 standing for "automatic").
    shown_default: str | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "home",
        ("CHATNUT_HOME",),
        None,
        "~/.chatnut",
        str,
        "Directory for chatnut.db, server.port, server.pid and the log.",
    ),
    Setting(
        "run_dir",
        ("CHATNUT_RUN_DIR",),
        None,
        None,
        str,
        "Where server.port and server.pid go (default: $CHATNUT_HOME); "
        "the original chatnut's name, still honoured.",
        shown_default="`$CHATNUT_HOME`",
    ),
    Setting(
        "db",
        ("CHATNUT_DB", "CHAT_DB_PATH"),
        "--db",
        None,
        str,
        "SQLite database path (default: $CHATNUT_HOME/chatnut.db; "
        "CHAT_DB_PATH is the original chatnut's name, still honoured), "
        "or a postgresql:// URL.",
        "PATH|URL",
        shown_default="`$CHATNUT_HOME/chatnut.db`",
    ),
    Setting(
        "db_password_file",
        ("CHATNUT_DB_PASSWORD_FILE",),
        "--db-password-file",
        None,
        str,
        "PostgreSQL: read the database password from this file (one line; the server's "
        "user's own, mode 0600 or 0400, no link out of its folder) instead of the URL; "
        "`chatnut reload` reads it again.",
        "PATH",
    ),
    Setting(
        "host",
        ("CHATNUT_HOST",),
        "--host",
        "127.0.0.1",
        str,
        "Address to bind. Anything but loopback requires a token.",
        "HOST",
    ),
    Setting(
        "port",
        ("CHATNUT_PORT",),
        "--port",
        8000,
        parse_port,
        "Port to bind; 0 picks a free one (then server.port is the truth).",
        "PORT",
    ),
    Setting(
        "token",
        ("CHATNUT_TOKEN",),
        "--token",
        None,
        str,
        "Bearer token required on /mcp/ and /api/ when set; several, comma separated, are "
        "all accepted (rotation; the first is the one sent and signed with). A flag shows "
        "in `ps`: prefer CHATNUT_TOKEN or --token-file.",
        "TOKEN",
    ),
    Setting(
        "token_file",
        ("CHATNUT_TOKEN_FILE",),
        "--token-file",
        None,
        str,
        "Read the token from this file when no token is given: one per line, all accepted "
        "(blank lines and # comments skipped); `chatnut reload` reads it again.",
        "PATH",
    ),
    Setting(
        "allowed_hosts",
        ("CHATNUT_ALLOWED_HOSTS",),
        "--allow-host",
        (),
        parse_host_names,
        "A name the server answers to besides loopback (behind a reverse proxy or load "
        "balancer); its https:// and http:// origins may call it. Repeatable; the "
        "environment variable is comma separated.",
        "NAME",
        repeatable=True,
    ),
    Setting(
        "public_url",
        ("CHATNUT_PUBLIC_URL",),
        "--public-url",
        None,
        parse_public_url,
        "The address the server gives out (web_url, sign-in links) when clients reach it "
        "through a proxy; its host is allowed as with --allow-host.",
        "URL",
    ),
    Setting(
        "workers",
        ("CHATNUT_WORKERS",),
        "--workers",
        1,
        parse_workers,
        "Server processes sharing the port (PostgreSQL only).",
        "N",
    ),
    Setting(
        "url",
        ("CHATNUT_URL",),
        "--url",
        None,
        parse_server_url,
        "A remote server for the terminal commands and the stdio bridge (with the token), "
        "instead of this home's local one.",
        "URL",
        scope="client",
    ),
    Setting(
        "durability",
        ("CHATNUT_DURABILITY",),
        "--durability",
        "normal",
        parse_durability,
        "normal: WAL + synchronous=NORMAL, survives kill -9; "
        "full: fsync every commit, also survives power loss.",
        "MODE",
    ),
    Setting(
        "max_message_bytes",
        ("CHATNUT_MAX_MESSAGE_BYTES",),
        "--max-message-bytes",
        65536,
        parse_message_bytes,
        "Largest message content accepted, in UTF-8 bytes (at most 16 MiB).",
        "N",
    ),
    Setting(
        "max_answer_bytes",
        ("CHATNUT_MAX_ANSWER_BYTES",),
        None,
        1024 * 1024,
        parse_positive_int,
        "Most message content one answer carries (a read stops early with has_more); "
        "at least one message is always returned.",
    ),
    Setting(
        "max_connections",
        ("CHATNUT_MAX_CONNECTIONS",),
        None,
        0,
        parse_non_negative_int,
        "Most open connections; past it the longest-idle one is closed "
        "(0: as many as the open-file limit allows, at most 16384).",
        shown_default="`0` (automatic)",
    ),
    Setting(
        "max_unauthenticated_connections",
        ("CHATNUT_MAX_UNAUTHENTICATED_CONNECTIONS",),
        None,
        0,
        parse_non_negative_int,
        "Most connections no request has authenticated on yet; past it the oldest is closed "
        "(0: a quarter of the connection cap, at least 16, at most half).",
    ),
    Setting(
        "max_unauthenticated_per_address",
        ("CHATNUT_MAX_UNAUTHENTICATED_PER_ADDRESS",),
        None,
        0,
        parse_non_negative_int,
        "Most unauthenticated connections from one client address; past it that address's "
        "oldest is closed (0: a sixteenth of the unauthenticated cap, at least 8).",
    ),
    Setting(
        "max_streams",
        ("CHATNUT_MAX_STREAMS",),
        None,
        0,
        parse_non_negative_int,
        "Most event streams open at once; more are refused (429) "
        "(0: half the connection cap, so the rest stay for short requests).",
    ),
    Setting(
        "max_streams_per_client",
        ("CHATNUT_MAX_STREAMS_PER_CLIENT",),
        None,
        16,
        parse_positive_int,
        "Most event streams one client (a browser session, else an address) may hold open.",
    ),
    Setting(
        "max_waits_per_room",
        ("CHATNUT_MAX_WAITS_PER_ROOM",),
        None,
        1000,
        parse_positive_int,
        "Most wait_for_messages calls parked on one room at once; more are refused.",
    ),
    Setting(
        "max_waits",
        ("CHATNUT_MAX_WAITS",),
        None,
        10000,
        parse_positive_int,
        "Most wait_for_messages calls parked on the server at once; more are refused.",
    ),
    # Generous: a busy client may open a connection and only get round to using
    # it seconds later; the connection cap, not this, is what stops a flood.
    Setting(
        "header_timeout",
        ("CHATNUT_HEADER_TIMEOUT",),
        None,
        30.0,
        parse_positive_float,
        "Seconds a client has to finish a request's headers (from its first byte, from "
        "connecting, or from the last answer on a kept-alive connection); then it is closed.",
    ),
    # The largest body (6 × 64 KiB) takes milliseconds on loopback and a few
    # seconds on a slow link; a client trickling it is holding a worker hostage.
    Setting(
        "body_timeout",
        ("CHATNUT_BODY_TIMEOUT",),
        None,
        15.0,
        parse_positive_float,
        "Seconds a request's body may take to arrive; a slower one is refused (408).",
    ),
    # A stream's buffered events are bounded by its hub subscription meanwhile.
    Setting(
        "send_timeout",
        ("CHATNUT_SEND_TIMEOUT",),
        None,
        10.0,
        parse_positive_float,
        "Seconds an event stream waits on a client that stopped reading before dropping it "
        "(the client resumes with Last-Event-ID).",
    ),
    Setting(
        "auto_archive_hours",
        ("CHATNUT_AUTO_ARCHIVE_HOURS",),
        "--auto-archive-hours",
        0.0,
        parse_non_negative,
        "Archive live rooms idle for this many hours; 0 (default) never does.",
        "H",
        shown_default="`0` (off)",
    ),
    Setting(
        "retain_days",
        ("CHATNUT_RETAIN_DAYS",),
        "--retain-days",
        0,
        parse_non_negative_int,
        "Delete messages older than this many days (written first to a .jsonl.gz under "
        "the home's retention/); 0 (default) keeps them. Overrides: `chatnut retention set`.",
        "N",
        shown_default="`0` (off)",
    ),
    Setting(
        "open_browser",
        ("CHATNUT_OPEN_BROWSER",),
        None,
        True,
        parse_bool,
        "Open the web UI when init_room creates a room (only with a display).",
    ),
    Setting(
        "update_check",
        ("CHATNUT_UPDATE_CHECK",),
        None,
        True,
        parse_bool,
        "Check CHATNUT_UPDATE_URL for a newer release in the background (for ping).",
    ),
    Setting(
        "update_url",
        ("CHATNUT_UPDATE_URL",),
        None,
        None,
        parse_http_url,
        "Where this chatnut's releases are listed (JSON in the package index's shape, "
        "/pypi/<name>/json); unset: no update check (the public index's `chatnut` is "
        "another project).",
    ),
    Setting(
        "teams_dir",
        ("CLAUDE_TEAMS_DIR",),
        None,
        "~/.claude/teams",
        str,
        "Where init_room(team_name=...) looks for team directories.",
    ),
    Setting(
        "log_format",
        ("CHATNUT_LOG_FORMAT",),
        "--log-format",
        "text",
        parse_log_format,
        "text: the log as lines for people; json: one JSON object per line, and one line "
        "per request or tool call (time, pid, request id, route or tool, status, duration).",
        "FORMAT",
    ),
    Setting(
        "metrics_listen",
        ("CHATNUT_METRICS_LISTEN",),
        "--metrics-listen",
        None,
        parse_metrics_listen,
        "Also serve GET /metrics, without the token, on this loopback address "
        "(127.0.0.1:9108); /metrics on the main port needs the token.",
        "HOST:PORT",
    ),
    Setting(
        "events_keep_seconds",
        ("CHATNUT_EVENTS_KEEP_SECONDS",),
        None,
        3600.0,
        parse_positive_float,
        "PostgreSQL: events are kept this long for processes that were away, pruned every "
        "minute (or every half of this, if shorter) by one process at a time.",
    ),
    Setting(
        "events_keep_rows",
        ("CHATNUT_EVENTS_KEEP_ROWS",),
        None,
        100_000,
        parse_positive_int,
        "PostgreSQL: at most this many events are kept, however young.",
    ),
    Setting(
        "log_level",
        ("CHATNUT_LOG_LEVEL",),
        "--log-level",
        "info",
        str,
        "Log level of the server log.",
        "LEVEL",
    ),
    Setting(
        "log_stderr",
        ("CHATNUT_LOG_STDERR",),
        None,
        True,
        parse_bool,
        "Write the log to stderr too; 0: only errors (a server the bridge or the CLI "
        "starts in the background: its stderr then holds just why it failed).",
    ),
)


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=lambda: Path("~/.chatnut").expanduser())
    db: Path | str | None = None  # a str only for a postgresql:// URL
    db_password_file: Path | None = None
    # Read from db_password_file: never shown (repr) nor compared.
    db_password: str | None = field(default=None, repr=False, compare=False)
    run_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    # Accepted besides `token` (a rotation in progress): the rest of the list.
    extra_tokens: tuple[str, ...] = ()
    allowed_hosts: tuple[str, ...] = ()
    public_url: str | None = None
    workers: int = 1
    url: str | None = None
    durability: str = "normal"
    max_message_bytes: int = 65536
    max_answer_bytes: int = 1024 * 1024
    max_connections: int = 0
    max_unauthenticated_connections: int = 0
    max_unauthenticated_per_address: int = 0
    max_streams: int = 0
    max_streams_per_client: int = 16
    max_waits_per_room: int = 1000
    max_waits: int = 10000
    header_timeout: float = 30.0
    body_timeout: float = 15.0
    send_timeout: float = 10.0
    auto_archive_hours: float = 0.0
    retain_days: int = 0
    open_browser: bool = True
    update_check: bool = True
    update_url: str | None = None
    teams_dir: Path = field(default_factory=lambda: Path("~/.claude/teams").expanduser())
    log_level: str = "info"
    events_keep_seconds: float = 3600.0
    events_keep_rows: int = 100_000
    log_format: str = "text"
    metrics_listen: tuple[str, int] | None = None
    log_stderr: bool = True

    @property
    def tokens(self) -> tuple[str, ...]:
        """Every shared token accepted; the first is the one sent and signed with."""
        return () if self.token is None else (self.token, *self.extra_tokens)

    @property
    def database(self) -> Path | str:
        """What the store opens: a SQLite path or a database URL (store.open_store)."""
        return self.db if self.db is not None else self.home / "chatnut.db"

    @property
    def db_path(self) -> Path:
        """The SQLite file (for what only a file has: backups, exports)."""
        return Path(self.database)

    @property
    def port_file(self) -> Path:
        return (self.run_dir or self.home) / "server.port"

    @property
    def pid_file(self) -> Path:
        return (self.run_dir or self.home) / "server.pid"

    @property
    def workers_file(self) -> Path:
        """The worker pids of a `--workers N` server (server.pid is their parent)."""
        return (self.run_dir or self.home) / "server.workers"

    @property
    def db_file(self) -> Path:
        """The running server's database (without a password), for commands on its host."""
        return (self.run_dir or self.home) / "server.db"

    @property
    def lock_file(self) -> Path:
        return self.home / "server.lock"

    @property
    def log_file(self) -> Path:
        return self.home / "chatnut.log"


_PATH_SETTINGS = {"home", "db", "run_dir", "teams_dir", "token_file", "db_password_file"}


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and "://" in value


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve every setting: explicit overrides (CLI flags), then environment, then default."""
    env = os.environ if environ is None else environ
    given = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in given:
            raw: Any = given[setting.name]
            if isinstance(raw, list | tuple) and setting.repeatable:
                raw = ",".join(raw)
            try:
                value = setting.parse(raw) if isinstance(raw, str) else raw
            except ValueError as exc:
                raise ValueError(f"{setting.flag or setting.name}: {exc}") from exc
        else:
            value = setting.default
            for var in setting.env:
                if env.get(var):
                    try:
                        value = setting.parse(env[var])
                    except ValueError as exc:
                        raise ValueError(f"{var}: {exc}") from exc
                    break
        if setting.name in _PATH_SETTINGS and value is not None and not _is_url(value):
            value = Path(value).expanduser()
        values[setting.name] = value
    if values.get("token") is not None:
        listed = split_tokens(values["token"])
        if not listed:
            raise ValueError("the token is empty")
        values["token"], values["extra_tokens"] = listed[0], listed[1:]
    elif values.get("token_file") is not None:
        listed = _read_tokens(values["token_file"])
        values["token"], values["extra_tokens"] = listed[0], listed[1:]
    if values.get("db_password_file") is not None:
        values["db_password"] = _db_password(values["db"], values["db_password_file"])
    known = {f.name for f in fields(Settings)}
    return Settings(**{k: v for k, v in values.items() if k in known})


def _db_password(db: Any, path: Path) -> str:
    if not (isinstance(db, str) and db.startswith(URL_SCHEMES)):
        raise ValueError(f"{FLAG}: a password file is for a postgresql:// --db")
    if url_has_password(db):
        raise ValueError(f"{FLAG}: the database URL holds a password already; keep it in one place")
    return read_password_file(path.absolute())


def _read_tokens(path: Path) -> tuple[str, ...]:
    try:
        tokens = file_tokens(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--token-file: cannot read {path}: {exc}") from None
    if not tokens:
        raise ValueError(f"--token-file: {path} is empty (no token line in it)")
    return tokens
