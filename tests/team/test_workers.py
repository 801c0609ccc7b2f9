"""`chatnut serve --workers N`: one server of N processes on one port."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e


def test_workers_on_sqlite_are_refused_in_one_line(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "chatnut", "serve", "--port", "0", "--workers", "2"],
        env=ServerProcess(home).environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "needs a postgresql:// database" in result.stderr and "SQLite" in result.stderr
    assert list(home.iterdir()) == []  # no database, no runtime files
