"""The no-token refusal goes by the address a host name stands for, not by the
name, against the real `chatnut serve`: `x.localhost` looks like loopback, but
a resolver may map it to every interface."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ServerProcess

pytestmark = pytest.mark.e2e

# The server's own resolver, told that x.localhost is 0.0.0.0 (as a hosts file
# or DNS could), and y.localhost is loopback: the process is real, the mapping
# is the only thing made up.
RESOLVER = """
import socket
_real = socket.getaddrinfo
_names = {"x.localhost": "0.0.0.0", "y.localhost": "127.0.0.1"}

def getaddrinfo(host, *args, **kwargs):
    return _real(_names.get(host, host), *args, **kwargs)

socket.getaddrinfo = getaddrinfo
"""


@pytest.fixture
def mapped(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "resolver").mkdir()
    (tmp_path / "resolver" / "sitecustomize.py").write_text(RESOLVER)
    return {"PYTHONPATH": str(tmp_path / "resolver")}


def test_a_loopback_name_mapped_to_a_public_address_needs_a_token(
    home: Path, mapped: dict[str, str]
) -> None:
    server = ServerProcess(home, ["--host", "x.localhost"], env=mapped)
    with pytest.raises(RuntimeError) as refused:
        server.start()
    server.kill()
    lines = [line for line in server.output if line.strip()]
    assert lines == [
        "chatnut: refusing to bind x.localhost (0.0.0.0): anything but loopback needs a token "
        "(--token or CHATNUT_TOKEN), or anyone on the network could read every chat\n"
    ], refused.value


def test_a_name_for_loopback_is_served_without_a_token(home: Path, mapped: dict[str, str]) -> None:
    server = ServerProcess(home, ["--host", "y.localhost"], env=mapped)
    server.start()
    try:
        assert (home / "server.port").read_text().strip() == str(server.port)
    finally:
        server.stop()
