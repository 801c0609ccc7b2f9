"""`python -m bench.team_day`: a team's day, compressed.

`--agents` MCP sessions (50) for `--seconds` (180), spread over client
processes (bench/team_day_agents.py): each starts with `get_handoff` and a
status, then posts to one named teammate with `to`, parks on `check_inbox`
until something is addressed to it, reads the room, now and then updates its
status. Run on SQLite and on PostgreSQL with 1, 2 and 4 workers (real
`chatnut serve` processes, PostgreSQL from tests/postgres.py): per-tool
p50/p99, errors (the target is 0) and the chatnut workers' CPU per call (from
/proc). During each load, a probe times the directed-message round trip: post
to a name, then that name's `check_inbox` returns it.

The same round trip, on idle servers, side by side with mcp_agent_mail
(`send_message` then `fetch_inbox`), installed from the package index into
.bench/agent-mail/ on first use and started as a real HTTP MCP server.

Every table is printed with the machine's load average and core count, and
all of them are written to --out (.bench/team_day.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import agent_mail
from bench.harness import Workers, call, mcp_client, new_room, split
from bench.stats import Table, ms, num, pct
from bench.systems import WORK, Server
from bench.team import cpu_seconds, load_average, postgres_pids, team_server, worker_pids
from bench.team_day_agents import TOOLS

CLIENT_PROCESSES = 4
ROUND_TRIPS = 50
CONFIGS = {"sqlite": [("SQLite", 1)], "postgres": [("PostgreSQL", w) for w in (1, 2, 4)]}
COMMAND = "python -m bench.team_day"


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=50, help="MCP sessions (default 50)")
    parser.add_argument("--seconds", type=float, default=180, help="per configuration")
    parser.add_argument(
        "--only",
        choices=("sqlite", "postgres", "agent-mail"),
        help="one part: SQLite, PostgreSQL (1, 2, 4 workers) or the round-trip comparison",
    )
    parser.add_argument("--round-trips", type=int, default=ROUND_TRIPS)
    parser.add_argument("--think", type=float, default=0.5, help="mean pause between cycles, s")
    parser.add_argument("--inbox-wait", type=float, default=10, help="check_inbox timeout, s")
    parser.add_argument("--out", type=Path, default=WORK / "team_day.md")
    args = parser.parse_args(argv)
    if args.agents < 2:
        parser.error("--agents: at least 2 (each writes to a teammate)")
    if args.seconds <= 0:
        parser.error("--seconds: more than 0")
    return args


def conditions() -> str:
    """What every table is printed beside: the machine is shared and loaded."""
    return f"Load average (1, 5, 15 min): {load_average()}; cores: {os.cpu_count()}."


def agent_names(count: int) -> list[str]:
    return [f"agent-{k:02d}" for k in range(count)]


def summarise(results: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per tool: calls, latencies (s) and error texts, over every client process."""
    summary: dict[str, dict[str, Any]] = {}
    for tool in TOOLS:
        latencies = [x / 1e9 for r in results for x in r["latencies"][tool]]
        errors = [e for r in results for e in r["errors"][tool]]
        summary[tool] = {"latencies": latencies, "errors": errors}
    return summary


async def round_trips(mcp_url: str, room_id: str, count: int) -> dict[str, Any]:
    """`count` times: post to a name, then that name's check_inbox; seconds each."""
    times: list[float] = []
    errors: list[str] = []
    async with mcp_client(mcp_url) as sender, mcp_client(mcp_url) as receiver:
        since = 0
        for k in range(count):
            began = time.perf_counter()
            try:
                posted = await call(
                    sender,
                    "post_message",
                    room_id=room_id,
                    sender="probe-tx",
                    content=f"round trip {k}",
                    to=["probe-rx"],
                )
                inbox = await call(receiver, "check_inbox", agent_name="probe-rx", since_id=since)
            except Exception as exc:
                errors.append(repr(exc)[:200])
                continue
            if posted["id"] not in [m["id"] for m in inbox["messages"]]:
                errors.append(f"message {posted['id']} not in the inbox")
                continue
            times.append(time.perf_counter() - began)
            since = posted["id"]
    return {"times": times, "errors": errors}


def start(name: str, db: str, home: Path, workers: int) -> Server:
    server = team_server(name, db, home, workers)
    server.start()
    # Answering is not ready: with workers, server.port is written once all are.
    deadline = time.monotonic() + 60
    while not (home / "server.port").exists():
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"{name}: not every worker was ready in 60 s")
        time.sleep(0.02)
    return server


async def day(server: Server, pg: Any, args: argparse.Namespace) -> dict[str, Any]:
    room_id = await new_room(server, "team-day")
    names = agent_names(args.agents)
    chunks, at = [], 0
    for n in split(len(names), CLIENT_PROCESSES):
        chunks.append(names[at : at + n])
        at += n
    specs = [
        {
            "role": "agents",
            "mcp_url": server.mcp_url,
            "room_id": room_id,
            "names": chunk,
            "peers": names,
            "seconds": args.seconds,
            "inbox_wait": args.inbox_wait,
            "think": args.think,
            "seed": 23,
        }
        for chunk in chunks
    ]
    workers = worker_pids(server)
    pg_pids = postgres_pids(pg) if pg is not None else []
    clients = Workers(specs)
    try:
        await clients.expect("ready")
        cpu_before, pg_before = cpu_seconds(workers), cpu_seconds(pg_pids)
        clients.go()
        probe = asyncio.create_task(round_trips(server.mcp_url, room_id, args.round_trips))
        results = await clients.results(timeout=args.seconds + 120)
        trips = await probe
    finally:
        clients.kill()
    cpu_after, pg_after = cpu_seconds(workers), cpu_seconds(pg_pids)
    summary = summarise(results)
    calls = sum(len(s["latencies"]) + len(s["errors"]) for s in summary.values())
    calls += 2 * args.round_trips
    return {
        "tools": summary,
        "trips": trips,
        "closing": [e for r in results for e in r["closing"]],
        "calls": calls,
        "elapsed": max(r["elapsed"] for r in results) / 1e9,
        "cpu_ms": (cpu_after - cpu_before) * 1000 / max(calls, 1),
        "pg_cpu_ms": (pg_after - pg_before) * 1000 / max(calls, 1) if pg else float("nan"),
    }


def day_table(name: str, workers: int, r: dict[str, Any], args: argparse.Namespace) -> Table:
    table = Table(
        f"A team's day: {args.agents} agents, {args.seconds:.0f} s, {name}, "
        f"{workers} worker{'s' if workers > 1 else ''}",
        COMMAND_LINE,
        ["tool", "calls", "p50 ms", "p99 ms", "errors"],
    )
    for tool, s in r["tools"].items():
        table.add(
            tool,
            len(s["latencies"]),
            ms(pct(s["latencies"], 50)),
            ms(pct(s["latencies"], 99)),
            len(s["errors"]),
        )
    trips = r["trips"]
    table.add(
        "round trip: post_message to a name, then its check_inbox",
        len(trips["times"]),
        ms(pct(trips["times"], 50)),
        ms(pct(trips["times"], 99)),
        len(trips["errors"]),
    )
    calls_per_s = r["calls"] / r["elapsed"]
    table.notes.append(
        f"{r['calls']} calls in {r['elapsed']:.1f} s ({num(calls_per_s, 0)}/s); chatnut CPU "
        f"{num(r['cpu_ms'], 2)} ms per call"
        + (
            ""
            if r["pg_cpu_ms"] != r["pg_cpu_ms"]
            else f", PostgreSQL CPU {num(r['pg_cpu_ms'], 2)} ms per call"
        )
        + f" (user + system from /proc, over the run, all workers). check_inbox waits up "
        f"to {args.inbox_wait:.0f} s for a message, so its times include the parked wait."
    )
    errors = [e for s in r["tools"].values() for e in s["errors"]] + r["trips"]["errors"]
    if errors or r["closing"]:
        table.notes.append("First errors: " + "; ".join((errors + r["closing"])[:3]))
    table.notes.append(conditions())
    return table


async def comparison(args: argparse.Namespace, work: Path) -> Table:
    table = Table(
        f"Directed-message round trip, idle servers, {args.round_trips} sequential",
        COMMAND_LINE,
        ["system", "round trips", "p50 ms", "p99 ms", "errors"],
    )
    server = start("SQLite-idle", str(work / "idle.db"), work / "SQLite-idle", 1)
    try:
        room_id = await new_room(server, "round-trip")
        r = await round_trips(server.mcp_url, room_id, args.round_trips)
    finally:
        server.stop()
    table.add(
        "chatnut, SQLite: post_message (to) → check_inbox",
        len(r["times"]),
        ms(pct(r["times"], 50)),
        ms(pct(r["times"], 99)),
        len(r["errors"]),
    )
    mail = agent_mail.start(work / "agent-mail")
    try:
        r = await agent_mail.round_trips(mail, args.round_trips)
    finally:
        mail.stop()
    table.add(
        "mcp_agent_mail: send_message → fetch_inbox",
        len(r["times"]),
        ms(pct(r["times"], 50)),
        ms(pct(r["times"], 99)),
        len(r["errors"]),
    )
    table.notes.append(f"mcp_agent_mail {agent_mail.version()}. " + conditions())
    if r["errors"]:
        table.notes.append("First errors: " + "; ".join(r["errors"][:3]))
    return table


async def run(args: argparse.Namespace, work: Path) -> list[Table]:
    from tests.postgres import start_server

    tables: list[Table] = []
    summary = Table(
        f"A team's day, every configuration: {args.agents} agents, {args.seconds:.0f} s each",
        COMMAND_LINE,
        [
            "backend",
            "workers",
            "calls",
            "calls/s",
            "errors",
            "chatnut CPU ms/call",
            "PostgreSQL CPU ms/call",
            "load average (1, 5, 15 min) after",
        ],
    )
    parts = ["sqlite", "postgres"] if args.only is None else [args.only]
    pg = start_server(fsync=True) if "postgres" in parts else None
    try:
        for part in parts:
            for name, workers in CONFIGS.get(part, []):
                home = work / f"{name}-{workers}"
                db = (
                    str(work / "day.db")
                    if pg is None or name == "SQLite"
                    else (pg.url(pg.fresh_database()))
                )
                server = start(name, db, home, workers)
                try:
                    r = await day(server, pg if name == "PostgreSQL" else None, args)
                finally:
                    server.stop()
                tables.append(day_table(name, workers, r, args))
                print(tables[-1].markdown(), flush=True)
                errors = sum(len(t["errors"]) for t in r["tools"].values())
                summary.add(
                    name,
                    workers,
                    r["calls"],
                    num(r["calls"] / r["elapsed"], 0),
                    errors + len(r["trips"]["errors"]),
                    num(r["cpu_ms"], 2),
                    num(r["pg_cpu_ms"], 2),
                    load_average(),
                )
    finally:
        if pg is not None:
            pg.close()
    if summary.rows:
        summary.notes.append(
            "Errors: failed calls of every tool and of the round-trip probe (target 0). "
            "CPU: user + system from /proc of every chatnut worker (and every PostgreSQL "
            f"process), over the run, per call. Cores: {os.cpu_count()}, shared with the "
            "agents' client processes."
        )
        tables.append(summary)
        print(summary.markdown(), flush=True)
    if args.only in (None, "agent-mail"):
        tables.append(await comparison(args, work))
        print(tables[-1].markdown(), flush=True)
    return tables


COMMAND_LINE = COMMAND


def main(argv: Sequence[str] | None = None) -> None:
    global COMMAND_LINE
    args = parse(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    COMMAND_LINE = " ".join([COMMAND, *(shlex.quote(a) for a in given)])
    with tempfile.TemporaryDirectory(prefix="chatnut-team-day-") as tmp:
        tables = asyncio.run(run(args, Path(tmp)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(t.markdown() for t in tables))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
