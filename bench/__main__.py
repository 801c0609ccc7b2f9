"""`python -m bench`: ours beside the original chatnut 0.4.2 and the SDK's empty tool.

Runs every benchmark in one process, interleaving the systems, prints one
table per benchmark plus the verdicts against the targets (docs/design.md), and writes them as
Markdown (--out). See docs/benchmarks.md for how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from bench import data, data_bench, mcp_bench, sse_bench
from bench.harness import new_room
from bench.stats import Table, Verdict, ms, num, pct, verdict_table
from bench.systems import ROOT, Server, ensure_original, original, ours, sdk


def machine(original_script: Path, log: list[str]) -> Table:
    table = Table("Machine", COMMAND, ["what", "value"])
    orig_python = original_script.parent / "python"
    orig_sqlite = subprocess.run(
        [str(orig_python), "-c", "import sqlite3; print(sqlite3.sqlite_version)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    table.add("cores", os.cpu_count())
    table.add("CPU", platform.processor() or platform.machine())
    table.add("kernel", platform.release())
    table.add("ours: Python / SQLite", f"{platform.python_version()} / {sqlite3.sqlite_version}")
    table.add("original: SQLite", orig_sqlite)
    for line in log:
        table.add(*line.split(": ", 1))
    table.add(
        "load average at start (1, 5, 15 min)", ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    return table


def system(name: str, script: Path, db: Path, home: Path) -> Server:
    if name == "ours":
        return ours(db, home)
    if name == "original":
        return original(script, db, home)
    return sdk(home)


def builder(name: str, script: Path) -> Callable[[Path, Path], Server]:
    if name == "ours":
        return ours
    return lambda db, home: original(script, db, home)


async def startup(script: Path, work: Path, runs: int) -> Table:
    times: dict[str, list[float]] = {"ours": [], "original": [], "sdk": []}
    idle: dict[str, list[float]] = {name: [] for name in times}
    for r in range(runs):
        for name in times:
            server = system(name, script, work / f"start-{name}-{r}.db", work / f"start-{name}-{r}")
            times[name].append(server.start())
            await asyncio.sleep(1.0)
            idle[name].append(server.rss_mib())
            server.stop()
    table = Table(
        "Start-up to health 200 (fresh database) and idle memory",
        COMMAND,
        ["system", "runs", "p50 s", "max s", "RSS idle MiB"],
    )
    for name, values in times.items():
        table.add(
            name, runs, f"{pct(values, 50):.2f}", f"{max(values):.2f}", num(pct(idle[name], 50))
        )
    RESULTS["startup"] = times
    table.notes.append(
        "sdk: its /health route, no database. Spawn to first 200, polled every 5 ms."
    )
    return table


async def mcp_and_sse(script: Path, work: Path, quick: bool) -> list[Table]:
    servers = [
        system(n, script, work / f"live-{n}.db", work / f"live-{n}")
        for n in ("ours", "original", "sdk")
    ]
    for server in servers:
        server.start()
    tables: list[Table] = []
    try:
        chat = [s for s in servers if s.name != "sdk"]
        rooms = {s.name: await new_room(s, "sequential") for s in chat}
        rooms["sdk"] = "none"
        latencies = await mcp_bench.sequential(
            servers, rooms, 3 if quick else 6, 100 if quick else 250
        )
        RESULTS["sequential"] = latencies
        tables.append(mcp_bench.sequential_table(latencies, COMMAND))

        concurrent: dict[int, dict[str, dict[str, Any]]] = {}
        for sessions in (8, 32):
            concurrent[sessions] = {}
            for server in servers:
                room = rooms[server.name]
                concurrent[sessions][server.name] = await mcp_bench.concurrent(
                    server, room, sessions, 4 if quick else 10
                )
        RESULTS["concurrent"] = concurrent
        tables.append(mcp_bench.concurrent_table(concurrent, COMMAND))
        rss = Table(
            "Memory under load", COMMAND, ["system", "RSS idle MiB", "peak RSS, 32 sessions MiB"]
        )
        for server in servers:
            rss.add(
                server.name,
                num(RESULTS["idle_rss"][server.name]),
                num(concurrent[32][server.name]["peak_rss"]),
            )
        tables.append(rss)

        wake: dict[int, dict[str, list[dict[str, Any]]]] = {}
        for waiters, runs in ((1, 3), (100, 2 if quick else 3), (500, 1)):
            wake[waiters] = {s.name: [] for s in chat}
            for _ in range(runs):
                for server in chat:
                    wake[waiters][server.name].append(await mcp_bench.wake_up(server, waiters))
        RESULTS["wake"] = wake
        tables.append(mcp_bench.wake_table(wake, COMMAND))

        fan: dict[int, dict[str, dict[str, Any]]] = {}
        for streams in (100, 500):
            fan[streams] = {}
            for server in chat:
                # A fresh process, so "RSS before" is not a heap grown by the runs above.
                server.stop()
                server.start()
                fan[streams][server.name] = await sse_bench.fan_out(server, streams)
        RESULTS["fan"] = fan
        tables.append(sse_bench.fan_out_table(fan, COMMAND))
    finally:
        for server in servers:
            server.stop()
    return tables


async def loaded(script: Path, work: Path, size: int, quick: bool, full: bool) -> list[Table]:
    servers, rooms = [], {}
    for name in ("ours", "original"):
        cached = data.build(name, size, builder(name, script))
        db = data.copy_for_run(cached, work / f"data-{name}-{size}.db")
        rooms[name] = data.big_room(db)
        servers.append(system(name, script, db, work / f"data-{name}-{size}"))
    for server in servers:
        server.start()
    tables: list[Table] = []
    try:
        RESULTS.setdefault("search", {})[size] = await data_bench.search(
            servers, 10 if quick else 25
        )
        if full:
            lists = await data_bench.room_list(servers, 10 if quick else 30)
            sidebar = {s.name: await sse_bench.sidebar_bytes(s, rooms[s.name]) for s in servers}
            RESULTS["lists"], RESULTS["sidebar"] = lists, sidebar
            tables.append(sse_bench.sidebar_table(lists, sidebar, COMMAND))
            reads = await data_bench.read_rooms(servers, rooms, 3 if quick else 7)
            RESULTS["reads"] = reads
            tables.append(data_bench.read_table(reads, COMMAND))
    finally:
        for server in servers:
            server.stop()
    return tables


def verdicts() -> list[Verdict]:
    out: list[Verdict] = []
    seq = RESULTS.get("sequential")
    if seq:
        o, s, g = (pct(seq[n], 50) for n in ("ours", "sdk", "original"))
        out.append(
            Verdict(
                "post sequential p50 ≤ 1.3 × SDK empty tool",
                f"{ms(o)} vs {ms(s)} ms = {o / s:.2f}×",
                o <= 1.3 * s,
            )
        )
        out.append(
            Verdict(
                "post sequential p50 ≤ ½ original",
                f"{ms(o)} vs {ms(g)} ms = {o / g:.2f}×",
                o <= 0.5 * g,
            )
        )
    conc = RESULTS.get("concurrent", {}).get(32)
    if conc:
        o, g = conc["ours"], conc["original"]
        out.append(
            Verdict(
                "32 sessions: throughput ≥ 3 × original, zero errors",
                f"{o['throughput']:.0f} vs {g['throughput']:.0f} posts/s"
                f" = {o['throughput'] / g['throughput']:.2f}×, {len(o['errors'])} errors",
                o["throughput"] >= 3 * g["throughput"] and not o["errors"],
            )
        )
    wake = RESULTS.get("wake", {}).get(100)
    if wake:
        o_runs, g_runs = wake["ours"], wake["original"]
        o99 = max(r["p99"] for r in o_runs)
        g99 = max(r["p99"] for r in g_runs)
        woken = all(r["woken"] == 100 and not r["errors"] and not r["timed_out"] for r in o_runs)
        out.append(
            Verdict(
                "100 waiters: all woken, zero errors, p99 ≤ ⅓ original",
                f"{ms(o99)} vs {ms(g99)} ms = {o99 / g99:.2f}×, all woken: {woken}",
                woken and o99 <= g99 / 3,
            )
        )
    fan = RESULTS.get("fan", {}).get(500)
    if fan:
        o = fan["ours"]
        per = (o["rss_open"] - o["rss_before"]) * 1024 / 500
        out.append(
            Verdict(
                "SSE 500 streams: all delivered, p99 ≤ 100 ms",
                f"{o['delivered']}/{o['expected']}, p99 {ms(o['p99'])} ms,"
                f" {per:.0f} KiB per stream",
                o["delivered"] == o["expected"] and o["p99"] <= 0.1,
            )
        )
    big = RESULTS.get("search", {}).get(1_000_000)
    if big:
        every = [t for values in big["ours"].values() for t in values]
        out.append(
            Verdict(
                "search over 1 000 000 messages: p50 ≤ 20 ms",
                f"{ms(pct(every, 50))} ms",
                pct(every, 50) <= 0.02,
            )
        )
    else:
        out.append(
            Verdict("search over 1 000 000 messages: p50 ≤ 20 ms", "not run (--sizes)", None)
        )
    lists = RESULTS.get("lists")
    if lists:
        o = lists["ours"]
        side = RESULTS["sidebar"]["ours"]
        worst = max(o["rest_p50"], o["mcp_p50"])
        out.append(
            Verdict(
                "room list / sidebar, 10 000 rooms: ≤ 50 ms, one change O(1)",
                f"REST {ms(o['rest_p50'])} ms, MCP {ms(o['mcp_p50'])} ms;"
                f" {side['per_change']:.0f} bytes per change",
                worst <= 0.05 and side["per_change"] < 4096,
            )
        )
    start = RESULTS.get("startup")
    if start:
        out.append(
            Verdict(
                "serve ready (health 200) ≤ 1.5 s",
                f"p50 {pct(start['ours'], 50):.2f} s, max {max(start['ours']):.2f} s",
                max(start["ours"]) <= 1.5,
            )
        )
    return out


async def section(title: str, work: Coroutine[Any, Any, list[Table]]) -> list[Table]:
    """One part of the run; if it fails, the others still report (and the failure is shown)."""
    try:
        return await work
    except Exception as exc:
        traceback.print_exc()
        failed = Table(f"{title}: FAILED", COMMAND, ["error"])
        failed.add(repr(exc)[:300])
        return [failed]


async def run(args: argparse.Namespace) -> list[Table]:
    log: list[str] = []
    script = ensure_original(log)
    sizes = [int(s) for s in args.sizes.split(",")]
    tables = [machine(script, log)]
    with tempfile.TemporaryDirectory(prefix="chatnut-bench-") as tmp:
        work = Path(tmp)
        for size in sizes:  # build first: generation is not what is measured
            for name in ("ours", "original"):
                data.build(name, size, builder(name, script))
        tables.append(await startup(script, work, 3 if args.quick else 5))
        RESULTS["idle_rss"] = {}
        for name in ("ours", "original", "sdk"):
            server = system(name, script, work / f"idle-{name}.db", work / f"idle-{name}")
            server.start()
            await asyncio.sleep(2)
            RESULTS["idle_rss"][name] = server.rss_mib()
            server.stop()
        tables += await section("MCP and SSE", mcp_and_sse(script, work, args.quick))
        for k, size in enumerate(sizes):
            tables += await section(
                f"{size:,} messages", loaded(script, work, size, args.quick, full=k == 0)
            )
        if RESULTS.get("search"):
            tables.append(data_bench.search_table(RESULTS["search"], COMMAND))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    tables[0].add("load average at end (1, 5, 15 min)", load)
    tables.append(verdict_table(verdicts(), COMMAND))
    return tables


RESULTS: dict[str, Any] = {}
COMMAND = "make bench"


def main() -> None:
    global COMMAND
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--sizes", default="100000,1000000", help="message counts for search")
    parser.add_argument("--out", type=Path, help="also write the tables here (Markdown)")
    args = parser.parse_args()
    COMMAND = "python -m bench " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    began = time.monotonic()
    tables = asyncio.run(run(args))
    text = "\n".join(t.markdown() for t in tables)
    text += f"\nWhole run: {time.monotonic() - began:.0f} s.\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    os.chdir(ROOT)
    main()
