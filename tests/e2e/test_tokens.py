"""Several shared tokens at once, and `chatnut reload` dropping one: on SQLite's one
process (tokens replaced in place) and on a two-worker team server (workers replaced
one at a time).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chatnut.settings import load_settings
from tests.helpers import MCP_CALL_HEADERS, ServerProcess, worker_pids

pytestmark = [pytest.mark.both_backends, pytest.mark.e2e]

NEW, OLD = "tok-new-0123456789abcdef", "tok-old-fedcba9876543210"


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def answers(url: str, token: str, tries: int = 12) -> set[int]:
    """The statuses of `tries` fresh connections (each may reach another worker)."""
    return {
        httpx.get(f"{url}/api/rooms", headers=bearer(token), timeout=30).status_code
        for _ in range(tries)
    }


def mcp_ping(url: str, token: str) -> int:
    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "ping"}}
    headers = {**MCP_CALL_HEADERS, **bearer(token)}
    return httpx.post(f"{url}/mcp/", json=call, headers=headers, timeout=30).status_code


def reload(home: Path) -> subprocess.CompletedProcess[str]:
    """`chatnut reload` as an operator on the host runs it: the server reads its own file."""
    env = {"CHATNUT_HOME": str(home), "PATH": "/usr/bin"}
    return subprocess.run(
        [sys.executable, "-m", "chatnut", "reload"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_two_tokens_then_a_reload_drops_one(
    home: Path, tmp_path: Path, backend: str, database_url: str | None
) -> None:
    token_file = tmp_path / "tokens"
    token_file.write_text(f"# rotation in progress\n{NEW}\n\n{OLD}\n")
    args = ["--token-file", str(token_file)]
    if database_url:
        args += ["--db", database_url, "--workers", "2"]
    process = ServerProcess(home, args)
    process.start()
    try:
        before = worker_pids(home) if database_url else set()
        assert answers(process.url, NEW) == {200}
        assert answers(process.url, OLD) == {200}
        assert mcp_ping(process.url, OLD) == 200
        # Few wrong tries: failed authentications are throttled per address (10 a minute).
        assert answers(process.url, "tok-neither", tries=2) == {401}

        token_file.write_text(f"{NEW}\n")
        done = reload(home)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("reloaded chatnut server")
        assert answers(process.url, OLD, tries=4) == {401}
        assert mcp_ping(process.url, OLD) == 401
        assert answers(process.url, NEW) == {200}
        if database_url:  # every worker was replaced, and there are two again
            after = worker_pids(home)
            assert len(after) == 2 and not after & before

        # A reload that cannot apply changes nothing and says why in one line.
        token_file.write_text("\n")
        refused = reload(home)
        assert refused.returncode == 1
        assert refused.stderr.count("\n") == 1
        assert "reload refused" in refused.stderr and "is empty" in refused.stderr
        assert answers(process.url, NEW) == {200}
        if database_url:
            assert worker_pids(home) == after
    finally:
        process.stop()


@pytest.mark.sqlite_only
def test_the_environment_lists_tokens_comma_separated() -> None:
    settings = load_settings({}, {"CHATNUT_TOKEN": f"{NEW}, {OLD}"})
    assert settings.token == NEW  # the one sent and signed with
    assert settings.tokens == (NEW, OLD)
    with pytest.raises(ValueError, match="token is empty"):
        load_settings({}, {"CHATNUT_TOKEN": " , "})
