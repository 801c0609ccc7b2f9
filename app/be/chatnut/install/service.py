"""`chatnut install --service`: start the server at login, restart it after a crash.

Linux: a systemd user unit (`Restart=on-failure`, enabled for `default.target`).
macOS: a launchd agent (`RunAtLoad`, `KeepAlive` unless it exited cleanly).
Both run this interpreter's `chatnut serve` with this CHATNUT_HOME, so the
CLI and the service agree on where the server's files are. A configured
token goes into the unit's environment, which is then written owner-only.
"""

from __future__ import annotations

import os
import plistlib
import sys
from pathlib import Path

from chatnut.install.clients import Target
from chatnut.install.edits import Change, Command, FileEdit, read_text
from chatnut.settings import Settings

UNIT = "chatnut.service"
LABEL = "io.chatnut.server"


def _environment(settings: Settings) -> dict[str, str]:
    env = {"CHATNUT_HOME": str(settings.home), "CHATNUT_OPEN_BROWSER": "0"}
    if settings.port != 8000:
        env["CHATNUT_PORT"] = str(settings.port)
    if settings.db is not None:
        env["CHATNUT_DB"] = str(settings.db)
    if settings.token:
        env["CHATNUT_TOKEN"] = settings.token
    return env


def _systemd_quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def systemd_unit(settings: Settings, python: str) -> str:
    env = "".join(
        f"Environment={_systemd_quote(f'{k}={v}')}\n" for k, v in _environment(settings).items()
    )
    return (
        "[Unit]\n"
        "Description=chatnut team chat server for AI coding agents\n"
        "After=network.target\n"
        "\n"
        "[Service]\n"
        f"ExecStart={_systemd_quote(python)} -m chatnut serve\n"
        f"{env}"
        "Restart=on-failure\n"
        "RestartSec=2\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(settings: Settings, python: str) -> str:
    agent = {
        "Label": LABEL,
        "ProgramArguments": [python, "-m", "chatnut", "serve"],
        "EnvironmentVariables": _environment(settings),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "StandardErrorPath": str(settings.home / "launchd.err"),
        "ProcessType": "Background",
    }
    return plistlib.dumps(agent).decode()


def service_plan(target: Target, settings: Settings, python: str = sys.executable) -> list[Change]:
    path = unit_path(target)
    if target.platform == "darwin":
        content = launchd_plist(settings, python) if target.installing else None
        domain = f"gui/{os.getuid()}"
        edit = FileEdit(path, read_text(path), content, "launchd agent", private=True)
        if not edit.changes:
            return [edit]
        unload = Command(
            ["launchctl", "bootout", f"{domain}/{LABEL}"], "unload the old agent", may_fail=True
        )
        load = Command(["launchctl", "bootstrap", domain, str(path)], "load it now")
        return [unload, edit, load] if target.installing else [unload, edit]
    content = systemd_unit(settings, python) if target.installing else None
    edit = FileEdit(path, read_text(path), content, "systemd user unit", private=True)
    if not edit.changes:
        return [edit]
    reload = Command(["systemctl", "--user", "daemon-reload"], "make systemd read it")
    if target.installing:
        enable = Command(
            ["systemctl", "--user", "enable", "--now", UNIT], "start now and at every login"
        )
        restart = Command(["systemctl", "--user", "restart", UNIT], "run the new unit")
        return (
            [edit, reload, enable, restart] if edit.before is not None else [edit, reload, enable]
        )
    disable = Command(
        ["systemctl", "--user", "disable", "--now", UNIT], "stop it for good", may_fail=True
    )
    return [disable, edit, reload]


def unit_path(target: Target) -> Path:
    if target.platform == "darwin":
        return target.home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    return target.xdg_config() / "systemd" / "user" / UNIT
