"""`chatnut install --service` for a team server: a systemd system unit.

A laptop's server is a per-user unit (service.py). A team server (PostgreSQL,
workers, a proxy's names) is a machine's service instead: a system unit in
/etc/systemd/system that runs as the installing user, starts after the
network and PostgreSQL, reloads with `systemctl reload` (SIGHUP: `chatnut
reload`), and keeps every serve setting it was given — each one that
differs from its default, as the environment variable `chatnut serve`
reads, so the unit's server is the one the operator described.

No secret is written into the unit (a system unit is readable by every local
user): the token comes from `--token-file`, the database password from
`--db-password-file` or libpq (`PGPASSFILE`, or `PGPASSWORD`), and either may come from the optional
`EnvironmentFile` (/etc/chatnut/env, root's, 0600). A token or a password
given inline is refused in one line, with nothing written.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from chatnut.install.edits import Change, Command, FileEdit, InstallError, read_text
from chatnut.settings import SETTINGS, Settings
from chatnut.store import is_url
from chatnut.store.location import printable

SYSTEM_UNIT_DIR = Path("/etc/systemd/system")
UNIT = "chatnut.service"
ENVIRONMENT_FILE = "/etc/chatnut/env"
# Written whatever their value: where the server's files are, and no browser.
ALWAYS = {"home", "open_browser"}
NEVER = {"token"}  # a secret: the file it comes from is kept instead


def needs_system_unit(settings: Settings) -> bool:
    """A team server: several processes or hosts, or a database shared by them."""
    return (
        settings.workers > 1
        or bool(settings.allowed_hosts)
        or settings.public_url is not None
        or is_url(settings.database)
    )


def _text(value: Any) -> str:
    """A setting's value as its environment variable spells it."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], int):
        host, port = value  # a HOST:PORT listener
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def unit_environment(
    settings: Settings, env: Mapping[str, str], token_file: str | None
) -> dict[str, str]:
    """Every serve setting that differs from its default (and the home), by variable."""
    defaults = Settings()
    known = {f.name for f in fields(Settings)}
    kept: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.scope != "serve" or setting.name in NEVER or setting.name not in known:
            continue
        value: Any = False if setting.name == "open_browser" else getattr(settings, setting.name)
        if setting.name not in ALWAYS and (
            value is None or value == getattr(defaults, setting.name)
        ):
            continue
        kept[setting.env[0]] = printable(value) if setting.name == "db" else _text(value)
    if token_file:
        kept["CHATNUT_TOKEN_FILE"] = str(Path(token_file).expanduser().absolute())
    if env.get("PGPASSFILE"):
        kept["PGPASSFILE"] = env["PGPASSFILE"]
    return kept


def refusal(settings: Settings, token_file: str | None) -> str | None:
    """Why a secret would end up in the unit; None when none would."""
    if settings.token is not None and not token_file:
        return (
            "a team server's unit never holds the token (a system unit is readable by every"
            " local user): give it as --token-file PATH, or as CHATNUT_TOKEN in"
            f" {ENVIRONMENT_FILE} (root's, 0600)"
        )
    if is_url(settings.database) and printable(settings.database) != str(settings.database):
        return (
            "a team server's unit never holds the database password: leave it out of the URL"
            " and give it as --db-password-file PATH, or to libpq (a ~/.pgpass line with"
            f" PGPASSFILE, or PGPASSWORD in {ENVIRONMENT_FILE})"
        )
    return None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def system_unit(
    settings: Settings, python: str, env: Mapping[str, str], user: str, token_file: str | None
) -> str:
    variables = "".join(
        f"Environment={_quote(f'{k}={v}')}\n"
        for k, v in unit_environment(settings, env, token_file).items()
    )
    return (
        "[Unit]\n"
        "Description=chatnut team chat server for AI coding agents\n"
        "Wants=network-online.target\n"
        "After=network-online.target postgresql.service\n"
        "\n"
        "[Service]\n"
        f"User={user}\n"
        f"ExecStart={_quote(python)} -m chatnut serve\n"
        "ExecReload=/bin/kill -HUP $MAINPID\n"
        f"{variables}"
        f"EnvironmentFile=-{ENVIRONMENT_FILE}\n"
        # SIGTERM to the supervisor, which stops its workers; anything left is killed.
        "KillMode=mixed\n"
        "TimeoutStopSec=30\n"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "LimitNOFILE=65536\n"
        "\n"
        "[Install]\n"
        "WantedBy=multi-user.target\n"
    )


def system_service_plan(
    settings: Settings,
    python: str,
    env: Mapping[str, str],
    *,
    installing: bool,
    dry_run: bool,
    token_file: str | None,
) -> list[Change]:
    problem = refusal(settings, token_file) if installing else None
    if problem is not None:
        raise InstallError(problem)
    if not dry_run and os.geteuid() != 0:
        raise InstallError(
            "a team server's service is a system unit: run it as root (sudo -E chatnut"
            " install --service ...), or look first with --dry-run"
        )
    path = SYSTEM_UNIT_DIR / UNIT
    user = env.get("SUDO_USER") or getpass.getuser()
    content = system_unit(settings, python, env, user, token_file) if installing else None
    edit = FileEdit(path, read_text(path), content, "systemd system unit", backup=True)
    if not edit.changes:
        return [edit]
    reload = Command(["systemctl", "daemon-reload"], "make systemd read it")
    if installing:
        enable = Command(["systemctl", "enable", "--now", UNIT], "start now and at every boot")
        restart = Command(["systemctl", "restart", UNIT], "run the new unit")
        return (
            [edit, reload, enable, restart] if edit.before is not None else [edit, reload, enable]
        )
    disable = Command(["systemctl", "disable", "--now", UNIT], "stop it for good", may_fail=True)
    return [disable, edit, reload]
