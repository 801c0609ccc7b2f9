"""`python -m bench.team`: the team server (PostgreSQL, --workers N) beside SQLite.

One run, the same client code for every configuration:
* sequential post_message p50/p99, SQLite and PostgreSQL on one worker;
* 32 concurrent sessions (4 client processes): posts/s with SQLite and with
  PostgreSQL on 1, 2 and 4 workers, plus the CPU each post cost in the chatnut
  workers and in the PostgreSQL server (from /proc, so the scaling can be
  projected to more cores than this machine has);
* cross-worker wake: 100 waiters spread over 2 workers, woken by a post made
  through the same port (whichever worker takes it);
* SSE fan-out: room streams spread over the workers, one post.

PostgreSQL is the tests' server (tests/postgres.py: Debian's package, started
in a temporary directory), with fsync on and the default synchronous_commit,
so a post is durable when acknowledged as SQLite's `--durability normal` is
not quite (see docs/benchmarks.md). Prints Markdown tables (and --out FILE).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from tests.postgres import PostgresServer, start_server

from bench import mcp_bench, sse_bench
from bench.harness import Workers, call, mcp_client, new_room, now, post_arguments, split
from bench.stats import Table, ms, num, pct, ratio
from bench.systems import Server, ours_env

SESSIONS = 32
WAITERS = 100
STREAMS = 100
COMMAND = "make bench"


def team_server(name: str, db: str, home: Path, workers: int) -> Server:
    home.mkdir(parents=True, exist_ok=True)
    env = ours_env(home)
    command = [sys.executable, "-m", "chatnut", "serve", "--port", "{port}", "--db", db]
    if workers > 1:
        command += ["--workers", str(workers)]
    server = Server("ours", command, env, "/api/status", extra={"label": name})
    server.log_path = home / "bench.log"
    return server


def label(server: Server) -> str:
    return server.extra["label"]


def worker_pids(server: Server) -> list[int]:
    """The processes serving requests: the workers, or the one server process."""
    home = Path(server.env["CHATNUT_HOME"])
    deadline = time.monotonic() + 30
    while True:
        try:
            return [int(p) for p in (home / "server.workers").read_text().split()]
        except FileNotFoundError:
            if "--workers" not in server.command:
                return [server.pid]
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (/proc/PID/stat, clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):  # it ended (between open and read)
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def postgres_pids(pg: PostgresServer) -> list[int]:
    """The postmaster and its children (backends, WAL writer, checkpointer...)."""
    master = int((pg.data / "postmaster.pid").read_text().split()[0])
    pids = [master]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == master:
                pids.append(int(entry.name))
    return pids


async def throughput(server: Server, pg: PostgresServer | None, seconds: float) -> dict[str, Any]:
    room_id = await new_room(server, f"load-{now()}")
    workers = worker_pids(server)
    pg_pids = postgres_pids(pg) if pg is not None else []
    specs = [
        {
            "role": "posters",
            "mcp_url": server.mcp_url,
            "n": n,
            "seconds": seconds,
            "tool": "post_message",
            "arguments": post_arguments(server, room_id),
        }
        for n in split(SESSIONS, mcp_bench.CLIENT_PROCESSES)
    ]
    clients = Workers(specs)
    await clients.expect("ready")
    cpu_before, pg_before = cpu_seconds(workers), cpu_seconds(pg_pids)
    clients.go()
    results = await clients.results()
    cpu_after, pg_after = cpu_seconds(workers), cpu_seconds(pg_pids)
    latencies = [x / 1e9 for r in results for x in r["latencies"]]
    elapsed = max(r["elapsed"] for r in results) / 1e9
    posts = max(len(latencies), 1)
    return {
        "throughput": len(latencies) / elapsed,
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "errors": [e for r in results for e in r["errors"]],
        "worker_cpu_ms": (cpu_after - cpu_before) * 1000 / posts,
        "pg_cpu_ms": (pg_after - pg_before) * 1000 / posts if pg is not None else float("nan"),
        "workers": len(workers),
        "cpu_share": (cpu_after - cpu_before) / elapsed,
    }


async def parked(server: Server, count: int) -> None:
    """Until the workers together count `count` waiters: a fresh connection per ask,
    so the asks land on every worker; each worker's latest answer counts."""
    latest: dict[int, int] = {}
    expected = len(worker_pids(server))
    deadline = time.monotonic() + 30
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=10, limits=limits) as http:
        while time.monotonic() < deadline:
            answer = (await http.get(server.url + "/api/status")).json()
            latest[answer["pid"]] = answer["waiters"]
            if len(latest) >= expected and sum(latest.values()) >= count:
                return
            await asyncio.sleep(0.01)
    raise RuntimeError(f"waiters never all parked: {latest}")


class CpuTrace:
    """CPU seconds of two groups of processes, sampled every 2 ms on a thread, so that
    what each spent between two instants can be read afterwards."""

    def __init__(self, servers: list[int], clients: list[int]) -> None:
        self.groups = (servers, clients)
        self.samples: list[tuple[int, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            servers, clients = self.groups
            self.samples.append((now(), cpu_seconds(servers), cpu_seconds(clients)))
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def spent(self, start: int, end: int) -> tuple[float, float]:
        """CPU seconds (servers, clients) from the last sample at or before `start`
        to the first at or after `end`."""
        before = max((s for s in self.samples if s[0] <= start), key=lambda s: s[0])
        after = min((s for s in self.samples if s[0] >= end), key=lambda s: s[0], default=None)
        after = after or self.samples[-1]
        return after[1] - before[1], after[2] - before[2]


async def wake(server: Server) -> dict[str, Any]:
    room_id = await new_room(server, f"wake-{now()}")
    async with mcp_client(server.mcp_url) as poster:
        first = await call(poster, "post_message", room_id=room_id, sender="b", content="before")
        specs = [
            {
                "role": "waiters",
                "mcp_url": server.mcp_url,
                "n": n,
                "room_id": room_id,
                "since_id": first["id"],
            }
            for n in split(WAITERS, mcp_bench.WAITER_PROCESSES)
        ]
        clients = Workers(specs)
        await clients.expect("ready")
        clients.go()
        await clients.expect("waiting")
        await parked(server, WAITERS)
        # Where the wake's CPU goes: the chatnut workers or the waiters' MCP clients,
        # which share this machine's cores (docs/benchmarks.md, team section).
        trace = CpuTrace(worker_pids(server), [p.pid for p in clients.procs])
        await asyncio.sleep(0.05)
        sent = now()
        await call(poster, "post_message", room_id=room_id, sender="b", content="wake up")
        acked = now()
        results = await clients.results()
        trace.stop()
    returns = [r for res in results for r in res["returns"]]
    latencies = [(r - sent) / 1e9 for r in returns]
    server_cpu, client_cpu = trace.spent(sent, max(returns, default=sent))
    return {
        "woken": len(latencies),
        "p50": pct(latencies, 50),
        "p99": pct(latencies, 99),
        "acked": (acked - sent) / 1e9,
        "server_cpu": server_cpu,
        "client_cpu": client_cpu,
        "errors": sum(len(r["errors"]) + r["timed_out"] for r in results),
    }


def machine(pg: PostgresServer) -> Table:
    table = Table("Machine", COMMAND, ["what", "value"])
    table.add("cores", os.cpu_count())
    table.add("CPU", platform.processor() or platform.machine())
    table.add("kernel", platform.release())
    table.add("Python", platform.python_version())
    table.add("PostgreSQL", pg.psql("SHOW server_version"))
    table.add("PostgreSQL settings", "fsync on, synchronous_commit on, shared_buffers 64MB")
    table.add("load average at start (1, 5, 15 min)", load_average())
    table.add("CPU speed: a 10 M-step Python loop (CPU s)", f"{python_loop_seconds():.2f}")
    return table


def python_loop_seconds() -> float:
    """CPU seconds for a fixed loop: runs on different days (or VMs) compare only
    when the cores ran at the same speed, which the load average does not show."""
    began = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - began


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


async def run(args: argparse.Namespace, pg: PostgresServer, work: Path) -> list[Table]:
    tables = [machine(pg)]
    seconds = 5.0 if args.quick else 15.0

    def start(name: str, db: str, workers: int) -> Server:
        server = team_server(name, db, work / name, workers)
        server.start()
        # Answering is not ready: with workers, server.port is written once all are.
        port_file = work / name / "server.port"
        deadline = time.monotonic() + 60
        while not port_file.exists():
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{name}: not every worker was ready in 60 s")
            time.sleep(0.02)
        return server

    def fresh_pg() -> str:
        return pg.url(pg.fresh_database())

    # Sequential posts, one worker each.
    sqlite = start("SQLite", str(work / "seq.db"), 1)
    postgres = start("PostgreSQL", fresh_pg(), 1)
    try:
        rooms = {
            "ours": await new_room(sqlite, "seq"),
        }
        lat_sqlite = (await mcp_bench.sequential([sqlite], rooms, 10 if args.quick else 40, 25))[
            "ours"
        ]
        rooms = {"ours": await new_room(postgres, "seq")}
        lat_pg = (await mcp_bench.sequential([postgres], rooms, 10 if args.quick else 40, 25))[
            "ours"
        ]
    finally:
        sqlite.stop()
        postgres.stop()
    seq = Table(
        "MCP post_message, sequential (one session, one worker)",
        COMMAND,
        ["backend", "calls", "p50 ms", "p99 ms", "÷ SQLite (p50)"],
    )
    for name, values in (("SQLite", lat_sqlite), ("PostgreSQL", lat_pg)):
        seq.add(
            name,
            len(values),
            ms(pct(values, 50)),
            ms(pct(values, 99)),
            ratio(pct(values, 50), pct(lat_sqlite, 50)),
        )
    seq.notes.append("Target: PostgreSQL p50 ≤ 1.5 × SQLite's on one worker.")
    tables.append(seq)

    # Throughput, 32 sessions.
    load = Table(
        f"MCP post_message, {SESSIONS} sessions over 4 client processes, {seconds:.0f} s",
        COMMAND,
        [
            "backend",
            "workers",
            "posts/s",
            "p50 ms",
            "p99 ms",
            "errors",
            "chatnut CPU ms/post",
            "PostgreSQL CPU ms/post",
            "chatnut CPU cores busy",
        ],
    )
    configs = [("SQLite", 1), ("PostgreSQL", 1), ("PostgreSQL", 2), ("PostgreSQL", 4)]
    for name, workers in configs:
        db = str(work / f"load-{workers}.db") if name == "SQLite" else fresh_pg()
        server = start(f"{name}-load-{workers}", db, workers)
        try:
            r = await throughput(server, pg if name == "PostgreSQL" else None, seconds)
        finally:
            server.stop()
        load.add(
            name,
            workers,
            num(r["throughput"], 0),
            ms(r["p50"]),
            ms(r["p99"]),
            len(r["errors"]),
            num(r["worker_cpu_ms"], 2),
            num(r["pg_cpu_ms"], 2),
            num(r["cpu_share"], 2),
        )
    load.notes.append(
        "CPU from /proc (user + system) of the chatnut workers and of every PostgreSQL "
        "process, over the run, divided by the posts acknowledged. The client processes "
        "share the same 2 cores."
    )
    tables.append(load)

    # Wake-up and fan-out, spread over workers.
    wake_table = Table(
        f"wait_for_messages wake-up, {WAITERS} waiters, from the post being sent",
        COMMAND,
        [
            "backend",
            "workers",
            "woken",
            "errors",
            "p50 ms",
            "p99 ms",
            "post acked ms",
            "chatnut CPU ms",
            "waiters' CPU ms",
        ],
    )
    fan_table = Table(
        f"SSE fan-out: one post to {STREAMS} room streams spread over the workers",
        COMMAND,
        ["backend", "workers", "delivered", "p50 ms", "p99 ms", "stream errors"],
    )
    for name, workers in (("SQLite", 1), ("PostgreSQL", 2), ("PostgreSQL", 4)):
        db = str(work / f"wake-{workers}.db") if name == "SQLite" else fresh_pg()
        server = start(f"{name}-wake-{workers}", db, workers)
        try:
            runs = [await wake(server) for _ in range(1 if args.quick else 3)]
            fan = await sse_bench.fan_out(server, STREAMS)
        finally:
            server.stop()
        wake_table.add(
            name,
            workers,
            f"{sum(r['woken'] for r in runs)}/{WAITERS * len(runs)}",
            sum(r["errors"] for r in runs),
            ms(pct([r["p50"] for r in runs], 50)),
            ms(max(r["p99"] for r in runs)),
            ms(pct([r["acked"] for r in runs], 50)),
            num(pct([r["server_cpu"] * 1000 for r in runs], 50), 0),
            num(pct([r["client_cpu"] * 1000 for r in runs], 50), 0),
        )
        fan_table.add(
            name,
            workers,
            f"{fan['delivered']}/{fan['expected']}",
            ms(fan["p50"]),
            ms(fan["p99"]),
            len(fan["errors"]),
        )
    wake_table.notes.append(
        "Target: p99 ≤ 50 ms with 100 waiters on loopback. p50 is the median "
        "of the runs' medians, p99 the worst run's. The post goes through the same port, "
        "so it lands on one worker and wakes the others through PostgreSQL NOTIFY. "
        "Post acked: when its own answer came back. CPU: user + system from /proc, "
        "from the post being sent to the last waiter's answer, of the chatnut workers "
        "and of the 5 processes running the waiters' MCP clients (medians of the runs); "
        "both share the machine's cores, so p99 cannot be below their sum ÷ cores."
    )
    tables.append(wake_table)
    tables.append(fan_table)
    tables[0].add("load average at end (1, 5, 15 min)", load_average())
    return tables


def main() -> None:
    global COMMAND
    parser = argparse.ArgumentParser(prog="python -m bench.team", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter runs (a smoke run)")
    parser.add_argument("--out", type=Path, help="also write the tables here (Markdown)")
    args = parser.parse_args()
    COMMAND = "python -m bench.team " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    pg = start_server(fsync=True)
    try:
        with tempfile.TemporaryDirectory(prefix="chatnut-team-bench-") as tmp:
            tables = asyncio.run(run(args, pg, Path(tmp)))
    finally:
        pg.close()
    text = "\n".join(t.markdown() for t in tables)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
