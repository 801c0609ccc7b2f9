"""A remote server whose certificate is not trusted is refused in one line that
says so — by `chatnut open --url` (an MCP call) as by `chatnut status --url` —
not as "unhandled errors in a TaskGroup"."""

from __future__ import annotations

import http.server
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def untrusted_https(tmp_path: Path) -> Iterator[str]:
    """An https:// server on loopback with a self-signed certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def chatnut(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHATNUT_", "CHAT_"))}
    env.update(CHATNUT_HOME=str(home), CHATNUT_TOKEN="t" * 40)
    return subprocess.run(
        [sys.executable, "-m", "chatnut", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_an_untrusted_certificate_is_one_line(home: Path, untrusted_https: str) -> None:
    for command in (["open", "--url-only"], ["status"]):
        done = chatnut(home, *command, "--url", untrusted_https)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode != 0 and len(lines) == 1, (command, done.stderr)
        assert "CERTIFICATE_VERIFY_FAILED" in lines[0], lines
        assert "self-signed certificate" in lines[0], lines
        assert "TaskGroup" not in lines[0] and "Traceback" not in done.stderr
