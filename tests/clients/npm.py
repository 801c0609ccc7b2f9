"""The real agent clients, from npm, for the tests that check what `chatnut install`
registers with each (Claude Code, Codex, Gemini CLI) through the client itself.

Installed once into `.venv/clients/` (or $CHATNUT_CLIENTS_DIR), outside the
repository, with Node 22 from npm's `node` package (the clients need a newer
Node than many machines have). A rerun finds them there and installs nothing.
`python -m tests.clients.npm` installs them (`make test` runs it first).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Versions these tests were written against; a bump is a one-line change here.
PACKAGES = {
    "node": "22",
    "@anthropic-ai/claude-code": "2.1.197",
    "@openai/codex": "0.171.0",
    "@google/gemini-cli": "0.61.0",
}
INSTALL_TIMEOUT = 1800


def clients_dir() -> Path:
    return Path(os.environ.get("CHATNUT_CLIENTS_DIR") or ROOT / ".venv" / "clients")


def bin_dir() -> Path:
    return clients_dir() / "node_modules" / ".bin"


def _installed(package: str) -> str | None:
    manifest = clients_dir() / "node_modules" / package / "package.json"
    try:
        version: str = json.loads(manifest.read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None
    return version


def missing() -> list[str]:
    wanted = []
    for package, version in PACKAGES.items():
        have = _installed(package)
        if have is None or not (have == version or have.startswith(version + ".")):
            wanted.append(f"{package}@{version}")
    return wanted


def ensure() -> Path:
    """The directory of the clients' executables, installing what is missing."""
    wanted = missing()
    if wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError(
                "the real-client tests need npm to install the clients: "
                "sudo apt-get install npm (any Node; Node 22 comes from npm's `node` package)"
            )
        target = clients_dir()
        target.mkdir(parents=True, exist_ok=True)
        if not (target / "package.json").exists():
            (target / "package.json").write_text('{"private": true}\n')
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", *wanted],
            cwd=target,
            check=True,
            timeout=INSTALL_TIMEOUT,
        )
        still = missing()
        if still:
            raise RuntimeError(f"npm did not install {', '.join(still)} into {target}")
    return bin_dir()


if __name__ == "__main__":
    print(f"agent clients ready in {ensure()}")


CLIENT_TIMEOUT = 120


def run(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """One agent client command, bounded, its output captured."""
    return subprocess.run(
        argv,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        stdin=subprocess.DEVNULL,
    )
