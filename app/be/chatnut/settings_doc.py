"""docs/configuration.md, written from the settings table.

`python -m chatnut.settings_doc > docs/configuration.md` (or `make docs`)
rewrites the page; a test compares the file with `render()`, so a setting
added, renamed or re-documented in settings.py cannot leave the page behind.
"""

from __future__ import annotations

from typing import Any

from chatnut.settings import SETTINGS, Setting

HEADER = """\
# Configuration

<!-- Written by `python -m chatnut.settings_doc` from app/be/chatnut/settings.py;
edit the settings table there, then run `make docs`. -->

Every setting is declared once, in `app/be/chatnut/settings.py`: its name,
its environment variables, its flag, its default and its help text. The
`chatnut serve --help` text and this page both come from that table. A flag
beats the environment, which beats the default. Flags marked "terminal
commands" belong to `status`, `tail`, `post` and the other commands that talk
to a server, not to `serve`.

| setting | flag | environment | default | meaning |
|---|---|---|---|---|
"""

FOOTER = """
A token given with `--token` shows in `ps`; prefer `CHATNUT_TOKEN` or
`--token-file`. Binding anything but a loopback address without a token is
refused. The settings a team server needs (`--workers`, `--allow-host`,
`--public-url`, a `postgresql://` database) are explained in
[operating.md](operating.md).
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _flag(setting: Setting) -> str:
    if not setting.flag:
        return ""
    shown = f"{setting.flag} {setting.metavar}" if setting.metavar else setting.flag
    text = f"`{_cell(shown)}`"
    if setting.repeatable:
        text += " (repeatable)"
    if setting.scope == "client":
        text += " (terminal commands)"
    return text


def _environment(setting: Setting) -> str:
    text = ", ".join(f"`{var}`" for var in setting.env)
    if setting.repeatable:
        text += " (comma separated)"
    return text


def _default(setting: Setting) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    value: Any = setting.default
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "`1`" if value else "`0`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def row(setting: Setting) -> str:
    cells = [
        setting.name,
        _flag(setting),
        _environment(setting),
        _default(setting),
        _cell(setting.help),
    ]
    return "| " + " | ".join(cells) + " |"


def render() -> str:
    return HEADER + "".join(row(s) + "\n" for s in SETTINGS) + FOOTER


if __name__ == "__main__":
    print(render(), end="")
