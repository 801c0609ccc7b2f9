"""A non-editable install carries the web UI, the skill and the migrations, and serves them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.helpers import ServerProcess

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def test_wheel_carries_everything_and_serves_from_site_packages(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(dist.glob("chatnut-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "chatnut/_bundled/fe/index.html",
        "chatnut/_bundled/skills/SKILL.md",
        "chatnut/_bundled/skills/chatnut-protocol.md",
        "chatnut/store/sqlite/migrations/0001_adopt_original.py",
        "chatnut/store/sqlite/migrations/0002_search_index.sql",
    ):
        assert expected in names, expected
    assert not any(name.startswith("tests/") for name in names)

    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    env = {"PYTHONPATH": str(target)}
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "import chatnut.bundled_files as r; print(r.web_ui_dir()); print(r.skill_dir())",
        ],
        env={**ServerProcess(tmp_path, env=env).environment()},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    # `chatnut install` copies the skill from the package, not from a checkout.
    assert all(path.startswith(str(target)) for path in where), where

    home = tmp_path / "home"
    home.mkdir()
    process = ServerProcess(home, env=env)
    process.start(port=0)
    try:
        page = httpx.get(f"{process.url}/", timeout=10)
        assert page.status_code == 200 and "<title>chatnut</title>" in page.text
        assert httpx.get(f"{process.url}/api/status", timeout=10).json()["status"] == "ok"
    finally:
        process.stop()
