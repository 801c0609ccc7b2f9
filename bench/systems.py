"""The systems under test, started as real processes on 127.0.0.1.

* ours: this checkout's `chatnut serve` (the repo's .venv).
* original: chatnut 0.4.2 from the package index, in a virtual environment of
  its own made by `ensure_original` (Python 3.12 where one exists, as it
  declares; otherwise pip's --ignore-requires-python), versions recorded.
* sdk: the official MCP SDK serving one empty tool (bench/empty_server.py),
  stateless with JSON answers: the floor of the stack.

Every server is bounded in time and stopped by its own PID.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".bench"
ORIGINAL_VERSION = "0.4.2"
READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _python312() -> str | None:
    found = shutil.which("python3.12")
    candidates = [found] if found else []
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(pyenv / "versions" / "3.12*" / "bin" / "python3.12")))
    candidates += ["/usr/bin/python3.12", "/usr/local/bin/python3.12"]
    for candidate in candidates:
        if not candidate:
            continue
        try:  # a pyenv shim exists even when no 3.12 is selected: ask it
            subprocess.run([candidate, "-c", "pass"], check=True, capture_output=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        return candidate
    return None


def ensure_original(log: list[str]) -> Path:
    """A venv with chatnut 0.4.2 from the package index; returns its `chatnut` script."""
    venv = WORK / f"original-{ORIGINAL_VERSION}"
    script = venv / "bin" / "chatnut"
    freeze = venv / "freeze.txt"
    if not script.exists():
        python = _python312()
        extra: list[str] = []
        if python is None:
            python, extra = sys.executable, ["--ignore-requires-python"]
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, *extra, f"chatnut=={ORIGINAL_VERSION}"], check=True)
        versions = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "freeze"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        made_with = f"# made with {python} {' '.join(extra)}".rstrip()
        freeze.write_text(made_with + "\n" + versions)
    python_version = subprocess.run(
        [str(venv / "bin" / "python"), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    lines = freeze.read_text().splitlines()
    wanted = ("chatnut==", "fastmcp==", "fastapi==", "uvicorn==", "mcp==", "sse-starlette==")
    log.append(f"original: {lines[0].lstrip('# ')}; {python_version}")
    log.append("original resolved: " + ", ".join(x for x in lines if x.startswith(wanted)))
    return script


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    health: str  # path polled until it answers (status < 500)
    mcp_path: str = "/mcp/"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    started_in: float = 0.0
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return self.url + self.mcp_path

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> float:
        """Start and wait until the health path answers 200; returns the seconds it took."""
        self.port = free_port()
        command = [part.replace("{port}", str(self.port)) for part in self.command]
        assert self.log_path is not None
        with self.log_path.open("ab") as log:
            began = time.monotonic()
            self.proc = subprocess.Popen(
                command, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = began + READY_TIMEOUT
        with httpx.Client(timeout=2) as http:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; see {self.log_path}")
                try:
                    if http.get(self.url + self.health).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"{self.name} not ready in {READY_TIMEOUT}s")
                time.sleep(0.005)
        self.started_in = time.monotonic() - began
        return self.started_in

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=15)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")


def _base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATNUT_", "CHAT_DB"))}
    env.update({"CHATNUT_OPEN_BROWSER": "0", "HOME": str(home)})
    return env


def ours_env(home: Path) -> dict[str, str]:
    """Our server's environment in a benchmark. Its clients are a few processes on
    one address standing for hundreds of browsers: past the per-client stream
    cap (16 by default, for one person's tabs) their streams would be refused."""
    env = _base_env(home)
    env.update(
        {
            "CHATNUT_HOME": str(home),
            "CHATNUT_UPDATE_CHECK": "0",
            "CHATNUT_MAX_STREAMS_PER_CLIENT": "10000",
        }
    )
    return env


def ours(db: Path, home: Path) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    env = ours_env(home)
    command = [sys.executable, "-m", "chatnut", "serve", "--port", "{port}", "--db", str(db)]
    server = Server("ours", command, env, "/api/status")
    server.log_path = home / "bench.log"
    return server


def original(script: Path, db: Path, home: Path) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    env = _base_env(home)
    # Its update check calls GitHub at start-up: point it at a closed port, as
    # an offline machine would (it fails silently and caches nothing).
    env.update(
        {
            "CHAT_DB_PATH": str(db),
            "CHATNUT_RUN_DIR": str(home),
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    server = Server("original", [str(script), "serve", "--port", "{port}"], env, "/api/status")
    server.log_path = home / "bench.log"
    return server


def sdk(home: Path) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(ROOT / "bench" / "empty_server.py"), "{port}"]
    server = Server("sdk", command, _base_env(home), "/health")
    server.log_path = home / "bench.log"
    return server
