"""The team-server install path docs/operating.md gives, run as an operator would: a
fresh virtualenv, `pip install '<checkout>[postgres]'` (not the index's `chatnut`, which
is another project), and what it gets is this code with the PostgreSQL driver.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = (ROOT / "docs" / "operating.md").read_text()

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_the_documented_install_gets_this_code_with_the_driver(tmp_path: Path) -> None:
    assert "pip install './chatnut-src[postgres]'" in DOCS
    assert sys.version_info[:2] == (3, 11)  # the oldest Python the package supports
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    source = tmp_path / "chatnut-src"
    source.symlink_to(ROOT)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "--quiet", f"{source}[postgres]"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stderr[-2000:]
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import chatnut, asyncpg, prometheus_client; print(chatnut.__version__);"
            " print(chatnut.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    version, where = probe.stdout.split()
    assert version == "0.5.0"
    assert where.startswith(str(venv))  # installed, not this checkout on the path
    help_text = subprocess.run(
        [str(venv / "bin" / "chatnut"), "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    for flag in ("--metrics-listen", "--workers", "--log-format"):
        assert flag in help_text
