"""`python -m bench.auth_cost [--posts N] [--db PATH|URL]`: what a principal's token costs a post.

The real `chatnut serve` with a shared token and one principal (`chatnut token
create`), and plain JSON-RPC `post_message` calls over one kept-alive HTTP
connection (no SDK in between: its own cost would hide a few microseconds).
The two tokens take turns in blocks of 20, so both see the same machine and
the same database size. Then 32 concurrent posters, each with a principal of
its own, against 32 posters sharing the shared token: posts per second.
Prints one Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from bench.stats import pct
from bench.systems import Server, _base_env

SHARED = "bench-shared-token-0123456789abcdef0123"
HEADERS = {
    "accept": "application/json, text/event-stream",
    "content-type": "application/json",
    "mcp-protocol-version": "2025-11-25",
}
BLOCK = 20


def make_tokens(env: dict[str, str], names: list[str]) -> dict[str, str]:
    made = {}
    for name in names:
        done = subprocess.run(
            [sys.executable, "-m", "chatnut", "token", "create", name, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        made[name] = json.loads(done.stdout)["token"]
    return made


async def post(http: httpx.AsyncClient, token: str, room: str, sender: str) -> float:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {
            "name": "post_message",
            "arguments": {"room_id": room, "sender": sender, "content": "benchmark post"},
        },
    }
    began = time.perf_counter()
    answer = await http.post(
        "/mcp/", json=body, headers={**HEADERS, "authorization": f"Bearer {token}"}
    )
    took = time.perf_counter() - began
    result = answer.json()["result"]
    if result.get("isError"):
        raise RuntimeError(result["content"][0]["text"])
    return took


async def sequential(url: str, tokens: dict[str, str], room: str, posts: int) -> dict[str, Any]:
    agent = next(iter(tokens))
    times: dict[str, list[float]] = {"shared": [], "principal": []}
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for _ in range(50):  # warm up both paths (and the token cache)
            await post(http, SHARED, room, agent)
            await post(http, tokens[agent], room, agent)
        while len(times["principal"]) < posts:
            for _ in range(BLOCK):
                times["shared"].append(await post(http, SHARED, room, agent))
            for _ in range(BLOCK):
                times["principal"].append(await post(http, tokens[agent], room, agent))
    return times


async def concurrent(
    url: str, tokens: list[str], room: str, names: list[str], seconds: float
) -> float:
    done = 0
    stop = time.monotonic() + seconds

    async def poster(token: str, name: str) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            while time.monotonic() < stop:
                await post(http, token, room, name)
                done += 1

    await asyncio.gather(*(poster(t, n) for t, n in zip(tokens, names, strict=True)))
    return done / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", help="a SQLite path or postgresql:// URL (default: a temp file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        db = args.db or str(Path(tmp) / "bench.db")
        env = _base_env(home)
        env.update({"CHATNUT_HOME": str(home), "CHATNUT_UPDATE_CHECK": "0", "CHATNUT_DB": db})
        names = [f"agent-{n:02d}" for n in range(32)]
        tokens = make_tokens(env, names)
        command = [sys.executable, "-m", "chatnut", "serve", "--port", "{port}", "--db", db]
        server = Server("ours", command, {**env, "CHATNUT_TOKEN": SHARED}, "/")
        server.log_path = home / "bench.log"
        server.start()
        try:
            room = httpx.post(
                server.url + "/api/rooms",
                json={"project": "bench", "name": f"auth-{time.monotonic_ns()}"},
                headers={"authorization": f"Bearer {SHARED}"},
            ).json()["id"]
            times = asyncio.run(
                sequential(server.url, {names[0]: tokens[names[0]]}, room, args.posts)
            )
            shared_rate = asyncio.run(
                concurrent(server.url, [SHARED] * 32, room, names, args.seconds)
            )
            own_rate = asyncio.run(
                concurrent(server.url, [tokens[n] for n in names], room, names, args.seconds)
            )
        finally:
            server.stop()
    p50 = {k: pct(v, 50) * 1000 for k, v in times.items()}
    p95 = {k: pct(v, 95) * 1000 for k, v in times.items()}
    where = db if args.db else "SQLite"
    print(f"post_message over HTTP, {args.posts} each, blocks of {BLOCK} in turn ({where})\n")
    print("| token | p50 ms | p95 ms |")
    print("|---|---|---|")
    for key in ("shared", "principal"):
        print(f"| {key} | {p50[key]:.3f} | {p95[key]:.3f} |")
    print(f"| principal − shared | {p50['principal'] - p50['shared']:+.3f} | |")
    print(
        f"\n32 concurrent posters for {args.seconds:g} s: shared token {shared_rate:.0f} posts/s,"
        f" 32 distinct principals {own_rate:.0f} posts/s"
    )


if __name__ == "__main__":
    main()
