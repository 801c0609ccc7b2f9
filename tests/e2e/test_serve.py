"""`chatnut serve` as a process: runtime files, one server per home, clear refusals."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chatnut.settings import load_settings
from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e


def run_serve(
    home: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = ServerProcess(home, env=env).environment()
    return subprocess.run(
        [sys.executable, "-m", "chatnut", "serve", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def test_ready_server_writes_port_and_pid_files_and_removes_them_on_sigterm(
    server: ServerProcess,
) -> None:
    assert server.proc is not None
    assert (server.home / "server.pid").read_text().strip() == str(server.proc.pid)
    assert int((server.home / "server.port").read_text()) == server.port
    status = httpx.get(f"{server.url}/api/status", timeout=10).json()
    assert status["status"] == "ok" and status["db_path"] == str(server.home / "chatnut.db")
    server.stop()
    assert not (server.home / "server.pid").exists()
    assert not (server.home / "server.port").exists()
    assert "chatnut ready on" in (server.home / "chatnut.log").read_text()


def test_sigint_also_cleans_up(home: Path) -> None:
    process = ServerProcess(home)
    process.start()
    assert process.proc is not None
    process.proc.send_signal(signal.SIGINT)
    process.proc.wait(timeout=15)
    assert not (home / "server.pid").exists() and not (home / "server.port").exists()


def test_second_server_on_the_same_home_is_refused(server: ServerProcess) -> None:
    result = run_serve(server.home, "--port", "0")
    assert result.returncode != 0
    assert "already running" in result.stderr and str(server.port) in result.stderr
    # The first one is untouched.
    assert httpx.get(f"{server.url}/api/status", timeout=10).status_code == 200
    assert int((server.home / "server.port").read_text()) == server.port


def test_taken_port_is_a_clear_refusal(home: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    try:
        result = run_serve(home, "--port", str(port))
    finally:
        blocker.close()
    assert result.returncode != 0
    assert f"port {port}" in result.stderr and "taken" in result.stderr
    assert not (home / "server.port").exists()


def test_stale_files_from_a_crash_are_replaced(home: Path) -> None:
    process = ServerProcess(home)
    process.start()
    old_pid = process.proc.pid if process.proc else 0
    process.kill()
    assert (home / "server.pid").exists()  # a crash leaves them behind
    process.start(port=0)
    try:
        assert process.proc is not None
        assert (home / "server.pid").read_text().strip() == str(process.proc.pid) != str(old_pid)
    finally:
        process.stop()


def test_non_loopback_bind_without_token_is_refused(home: Path) -> None:
    result = run_serve(home, "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "token" in result.stderr
    assert not (home / "chatnut.db").exists()


def test_bad_setting_is_a_clear_refusal(home: Path) -> None:
    result = run_serve(home, "--port", "0", "--durability", "sometimes")
    assert result.returncode == 2 and "durability" in result.stderr.lower()


def test_db_flag_and_legacy_env_choose_the_file(home: Path, tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.db"
    settings = load_settings(environ={"CHATNUT_HOME": str(home), "CHAT_DB_PATH": str(legacy)})
    assert settings.db_path == legacy
    flagged = load_settings(
        {"db": str(tmp_path / "flag.db")}, environ={"CHAT_DB_PATH": str(legacy)}
    )
    assert flagged.db_path == tmp_path / "flag.db"
    process = ServerProcess(home, ["--db", str(tmp_path / "other.db"), "--durability", "full"])
    process.start(port=0)
    try:
        status = httpx.get(f"{process.url}/api/status", timeout=10).json()
        assert status["db_path"] == str(tmp_path / "other.db")
    finally:
        process.stop()
    assert (tmp_path / "other.db").exists() and not (home / "chatnut.db").exists()


def test_listening_socket_disables_nagle() -> None:
    """Accepted connections inherit TCP_NODELAY; without it every response that is
    written in two pieces waits out the client's delayed ACK (about 40 ms on Linux)."""
    from chatnut.serve import bind

    sock = bind("127.0.0.1", 0)
    try:
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        client = socket.create_connection(sock.getsockname()[:2], timeout=5)
        sock.setblocking(True)
        accepted, _ = sock.accept()
        try:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        finally:
            accepted.close()
            client.close()
    finally:
        sock.close()
