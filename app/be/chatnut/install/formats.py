"""Merging our one entry into a client's config file without disturbing the rest.

JSON: parsed and re-serialised with the file's own indent; other keys keep
their order, and a file that does not parse is refused, never rewritten.
TOML (Codex): Python can read TOML but not write it, so the `[mcp_servers.chatnut]`
table is edited as text — replaced where it stands or appended — and the
result is parsed again and compared with the original: everything but our
table must be unchanged, or nothing is written.
Markdown (AGENTS.md, GEMINI.md): our section sits between two marker comments.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from chatnut.install.edits import FileEdit, InstallError, read_text

# -- JSON ---------------------------------------------------------------------


def _indent_of(text: str) -> int | str:
    for line in text.splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def json_entry(path: Path, keys: tuple[str, ...], value: Any, why: str) -> FileEdit:
    """Set (value) or remove (None) the entry at `keys`, leaving every other key as it is."""
    before = read_text(path)
    try:
        document = {} if before is None or not before.strip() else json.loads(before)
    except ValueError as exc:
        raise InstallError(
            f"{path} is not plain JSON ({exc}); it was left alone — add the entry by hand"
        ) from None
    if not isinstance(document, dict):
        raise InstallError(f"{path} does not hold a JSON object; it was left alone")
    parent = document
    for key in keys[:-1]:
        child = parent.get(key)
        if child is None:
            if value is None:
                return FileEdit(path, before, before, why)
            child = parent[key] = {}
        if not isinstance(child, dict):
            raise InstallError(f"{path}: {key!r} is not an object; it was left alone")
        parent = child
    last = keys[-1]
    if value is None:
        if last not in parent:
            return FileEdit(path, before, before, why)
        del parent[last]
    elif parent.get(last) == value:
        return FileEdit(path, before, before, why)
    else:
        parent[last] = value
    indent = 2 if before is None else _indent_of(before)
    after = json.dumps(document, indent=indent, ensure_ascii=False) + "\n"
    return FileEdit(path, before, after, why)


def json_value(path: Path, keys: tuple[str, ...]) -> Any:
    """The value at `keys` in a JSON file, or None (absent, unreadable)."""
    try:
        node: Any = json.loads(read_text(path) or "{}")
    except ValueError:
        return None
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


# -- TOML ---------------------------------------------------------------------

_HEADER = re.compile(r"^\s*\[\[?([^\[\]]+)\]\]?\s*(?:#.*)?$")


def _table_key(line: str) -> str | None:
    match = _HEADER.match(line)
    if match is None:
        return None
    return ".".join(part.strip().strip("\"'") for part in match.group(1).split("."))


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def toml_table(path: Path, table: str, values: dict[str, Any] | None, why: str) -> FileEdit:
    """Replace, append (values) or remove (None) one `[table]` (with its sub-tables)."""
    before = read_text(path)
    text = before or ""
    try:
        old = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InstallError(f"{path} is not valid TOML ({exc}); it was left alone") from None
    current: Any = old
    for key in table.split("."):
        current = current.get(key) if isinstance(current, dict) else None
    if current == values:
        return FileEdit(path, before, before, why)  # already so (however it is formatted)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _table_key(line) == table), None)
    end = start
    if start is not None:
        end = start + 1
        while end < len(lines):
            header = _table_key(lines[end])
            if header is not None and not header.startswith(table + "."):
                break
            end += 1
        # Blank lines before the next table belong to the gap, not to us.
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
    block = [] if values is None else _render_table(table, values)
    if start is None or end is None:
        if values is None:
            return FileEdit(path, before, before, why)
        gap = [] if not text else (["\n"] if text.endswith("\n") else ["\n", "\n"])
        new_lines = [*lines, *gap, *block]
    else:
        new_lines = [*lines[:start], *block, *lines[end:]]
        if values is None:
            new_lines = _drop_doubled_blank(new_lines, start)
    after = "".join(new_lines)
    _check_only_table_changed(path, old, after, table, values)
    return FileEdit(path, before, after, why)


def _render_table(table: str, values: dict[str, Any]) -> list[str]:
    lines = [f"[{table}]\n"]
    for key, value in values.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{_toml_string(k)} = {_toml_string(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}\n")
        else:
            lines.append(f"{key} = {_toml_string(value)}\n")
    return lines


def _drop_doubled_blank(lines: list[str], at: int) -> list[str]:
    if 0 < at < len(lines) and not lines[at - 1].strip() and not lines[at].strip():
        return lines[: at - 1] + lines[at:]
    if at == len(lines) and at > 0 and not lines[at - 1].strip():
        return lines[: at - 1]
    return lines


def _check_only_table_changed(
    path: Path, old: dict[str, Any], after: str, table: str, values: dict[str, Any] | None
) -> None:
    try:
        new = tomllib.loads(after)
    except tomllib.TOMLDecodeError as exc:
        raise InstallError(
            f"{path}: cannot place [{table}] without breaking the file ({exc}) — is it "
            "defined another way (an inline table)? The file was left alone"
        ) from None
    expected = json.loads(json.dumps(old))
    node = expected
    *parents, last = table.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    if values is None:
        node.pop(last, None)
        _drop_emptied(expected, new, parents)
    else:
        node[last] = values
    if new != expected:
        raise InstallError(f"{path}: editing [{table}] would change other settings; left alone")


def _drop_emptied(expected: dict[str, Any], new: dict[str, Any], parents: list[str]) -> None:
    """`[mcp_servers.chatnut]` alone implied `mcp_servers`; without it, that goes too."""
    for depth in range(len(parents), 0, -1):
        node, seen = expected, new
        for key in parents[: depth - 1]:
            node, seen = node[key], seen.get(key, {})
        if node.get(parents[depth - 1]) == {} and parents[depth - 1] not in seen:
            del node[parents[depth - 1]]


# -- Markdown -----------------------------------------------------------------

BEGIN = "<!-- BEGIN chatnut (managed by `chatnut install`; edits here are replaced) -->"
END = "<!-- END chatnut -->"


def markdown_section(path: Path, body: str | None, why: str) -> FileEdit:
    """Our section of a shared instructions file: replaced, appended or removed."""
    before = read_text(path)
    text = before or ""
    start, end = text.find(BEGIN), text.find(END)
    section = "" if body is None else f"{BEGIN}\n{body.rstrip()}\n{END}\n"
    if start != -1 and end > start:
        head, tail = text[:start], text[end + len(END) :].lstrip("\n")
        if body is None:
            head = head.rstrip("\n") + ("\n" if head.strip() else "")
            tail = ("\n" + tail) if head.strip() and tail else tail
        after = head + section + tail
    elif body is None:
        return FileEdit(path, before, before, why)
    else:
        after = text + ("\n" if text and not text.endswith("\n") else "")
        after += ("\n" if text.strip() else "") + section
    if before is not None and not after.strip() and body is None:
        return FileEdit(path, before, None, why)  # only ours was in it: remove the file
    return FileEdit(path, before, after, why)
