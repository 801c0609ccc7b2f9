"""Where the web UI files are, installed or in a checkout.

A wheel carries them inside the package (`_bundled/`, see pyproject.toml); a
source checkout or an editable install finds them at the top of the repo.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_REPO = _PACKAGE.parents[2]


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"none of {[str(c) for c in candidates]} exists")


def web_ui_dir() -> Path:
    return _first_existing(_PACKAGE / "_bundled" / "fe", _REPO / "app" / "fe")


def skill_dir() -> Path:
    """SKILL.md and chatnut-protocol.md, which `chatnut install` copies to each client."""
    return _first_existing(_PACKAGE / "_bundled" / "skills", _REPO / "skills" / "chatnut")
