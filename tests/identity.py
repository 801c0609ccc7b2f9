"""Helpers for the identity tests: tokens made with the real `chatnut token` command,
a real server that knows them, and the official MCP client speaking with one."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.helpers import TOKEN, ServerProcess
from tests.mcp_client import CheckedClient


def chatnut(home: Path, database_url: str | None, *args: str, **env: str) -> Any:
    """Run the `chatnut` command on this home (and database); its completed process."""
    environment = {
        **os.environ,
        "CHATNUT_HOME": str(home),
        "CHATNUT_OPEN_BROWSER": "0",
        "CHATNUT_UPDATE_CHECK": "0",
        **env,
    }
    for name in ("CHATNUT_DB", "CHATNUT_TOKEN", "CHATNUT_URL"):
        if name not in env:
            environment.pop(name, None)
    if database_url is not None:
        environment["CHATNUT_DB"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "chatnut", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_token(home: Path, database_url: str | None, name: str, *options: str) -> str:
    done = chatnut(home, database_url, "token", "create", name, "--json", *options)
    assert done.returncode == 0, done.stderr
    secret: str = json.loads(done.stdout)["token"]
    return secret


def start_server(home: Path, database_url: str | None) -> ServerProcess:
    """The real server with the shared token (helpers.TOKEN), on this database."""
    server = ServerProcess(
        home,
        extra_args=["--db", database_url] if database_url else None,
        env={"CHATNUT_TOKEN": TOKEN},
    )
    server.start()
    return server


@contextlib.asynccontextmanager
async def mcp_as(server: ServerProcess, token: str) -> AsyncIterator[CheckedClient]:
    """The official MCP client, over HTTP, sending this bearer token."""
    async with httpx2.AsyncClient(
        headers={"Authorization": f"Bearer {token}"}, timeout=httpx2.Timeout(60)
    ) as http:
        transport = streamable_http_client(server.mcp_url, http_client=http)
        async with Client(transport, mode="legacy") as client:
            tools = await client.list_tools()
            schemas = {t.name: t.output_schema for t in tools.tools if t.output_schema}
            yield CheckedClient(client, schemas)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
