"""The words of the guard's refusal, composed by the server so that the hook,
which runs at every commit, needs no JSON parser to print them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

FILES_SHOWN = 5


def shown(text: Any) -> str:
    """Stored text in a terminal: control characters shown, never obeyed."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(text))


def refusal_text(conflicts: Sequence[Mapping[str, Any]]) -> str:
    """Empty when nothing is in the way; else two lines a claim: who holds what
    until when, and the staged files under it. (The hook adds its first and last
    line once, however many parts a big commit is asked about in.)"""
    lines = []
    for c in conflicts:
        files = ", ".join(shown(f) for f in c["files"][:FILES_SHOWN])
        more = c["file_count"] - min(len(c["files"]), FILES_SHOWN)
        files += f" (+{more} more)" if more > 0 else ""
        task = f", task {shown(c['task'])}" if c.get("task") else ""
        note = f" — {shown(c['note'])}" if c.get("note") else ""
        patterns = ", ".join(shown(p) for p in c["paths"])
        lines.append(f"  {c['holder']} holds {patterns}{task} until {c['expires_at']}{note}")
        lines.append(f"    staged: {files}")
    return "".join(line + "\n" for line in lines)
