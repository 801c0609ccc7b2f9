"""The web page at a team's scale, measured in the real browser.

    .venv/bin/python bench/ui_bench.py [--rooms 2000] [--big 10000] [--sidebar-rooms 10000]
                                       [--seconds 15] [--rate 20] [--runs 3]
                                       [--only traffic,sidebar,links,open]
                                       [--keep DIR | --reuse DIR]

`--keep DIR` builds the dataset into DIR (two server homes and data.json) and
leaves it there; `--reuse DIR` measures that dataset again without building
(about 4 minutes saved per run; the live-traffic part adds messages to it).

Builds the dataset through the server (REST for rooms and the big room's
history, MCP for the live traffic): `--rooms` rooms over 5 projects, each
with a message, one room of `--big` messages of mixed Markdown (code, tables,
lists, long lines, mentions); a second server holds `--sidebar-rooms` rooms.
Then, in Debian's Chromium (headless), it reads the browser's own clocks:

* live traffic: `--rate` posts a second for `--seconds` s into the open room,
  then into another room (only the sidebar moves): long tasks (total, share
  of the window, longest) and the 95th-percentile frame interval;
* the sidebar of `--sidebar-rooms` rooms: first rows on screen after the
  first paint, and the bytes the page downloads on load (stream included);
* a deep link and a search hit to message 21 of the big room: shown and
  highlighted, and how many messages the page then holds;
* opening a room: to its newest messages, and to its first unread.

Prints Markdown tables; nothing is asserted (the targets are in docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from mcp import Client

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import chromium  # noqa: E402
from tests.helpers import ServerProcess  # noqa: E402

PROJECTS = ["api", "web", "infra", "data", "mobile"]
READER = "bench-reader"
TIMEOUT = 30_000
NEEDLE = "zebra-needle-21"

BODIES = [
    "Step {i}: refactor `auth/session.py`.\n\n```python\ndef check(token: str) -> bool:\n"
    "    return verify(token, key=KEY)\n```",
    "| shard | p50 ms | p99 ms |\n|---|---|---|\n| a | 1.{i} | 4.2 |\n| b | 1.1 | 3.9 |",
    "- [x] migrate {i}\n- [ ] backfill\n- [ ] **verify** with @agent-qa\n\n1. one\n2. two",
    "A long line " + "with words that keep going " * 30 + "({i})",
    "@agent-lead done with {i}, see _notes_ and [the doc](https://example.invalid/doc).",
]

# In the page: long tasks, frame intervals and the messages that arrived, from now on.
PROBE = """() => {
  window.__long = [];
  window.__shown = 0;
  new MutationObserver((records) => {
    for (const r of records)
      for (const n of r.addedNodes) if (n.matches?.('li.message')) window.__shown++;
  }).observe(document.querySelector('#message-list'), { childList: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__long.push(e.duration);
  }).observe({ type: 'longtask' });
  window.__frames = [];
  let last = performance.now();
  const tick = (now) => {
    window.__frames.push(now - last);
    last = now;
    window.__raf = requestAnimationFrame(tick);
  };
  window.__raf = requestAnimationFrame(tick);
  window.__t0 = performance.now();
}"""
PROBE_RESULT = """() => {
  cancelAnimationFrame(window.__raf);
  return {
    long: window.__long, frames: window.__frames, shown: window.__shown,
    window: performance.now() - window.__t0,
  };
}"""


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


async def build(server: ServerProcess, rooms: int, big: int) -> dict[str, Any]:
    """The dataset, through the server: rooms with one message each, and the big room."""
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as http:
        gate = asyncio.Semaphore(16)

        async def room(i: int) -> str:
            async with gate:
                for attempt in range(3):
                    # A kept-alive connection closed under us: try again under a new name
                    # (the first attempt may have made its room).
                    body = {
                        "project": PROJECTS[i % len(PROJECTS)],
                        "name": f"room-{i:05}" + (f"-{attempt}" if attempt else ""),
                    }
                    try:
                        answer = await http.post("/api/rooms", json=body)
                        room_id = str(answer.json()["id"])
                        content = BODIES[i % len(BODIES)].format(i=i)
                        await http.post(
                            f"/api/rooms/{room_id}/messages",
                            json={"sender": f"agent-{i % 11}", "content": content},
                        )
                        return room_id
                    except httpx.TransportError:
                        if attempt == 2:
                            raise
                raise AssertionError("unreachable")

        ids = await asyncio.gather(*(room(i) for i in range(rooms)))
        big_room = str(
            (await http.post("/api/rooms", json={"project": "api", "name": "big-history"})).json()[
                "id"
            ]
        )

        async def message(i: int) -> int:
            async with gate:
                content = NEEDLE if i == 20 else BODIES[i % len(BODIES)].format(i=i)
                answer = await http.post(
                    f"/api/rooms/{big_room}/messages",
                    json={"sender": f"agent-{i % 11}", "content": content},
                )
                return int(answer.json()["id"])

        # The first ones one by one, so message 21 is the 21st; then in batches.
        big_ids = [await message(i) for i in range(min(big, 50))]
        for start in range(50, big, 200):
            big_ids += await asyncio.gather(
                *(message(i) for i in range(start, min(big, start + 200)))
            )
    return {"rooms": ids, "big": big_room, "big_ids": sorted(big_ids)}


async def new_page(
    browser: Any, *, returning: bool = True, reader: str = READER
) -> tuple[Any, Any]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    if returning:  # a reader who has been here before: no first-visit catch-up
        await context.add_init_script(
            f"localStorage.setItem('chatnut.name', '{reader}');"
            f"localStorage.setItem('chatnut.started.{reader}', 'x');"
        )
    else:
        await context.add_init_script(f"localStorage.setItem('chatnut.name', '{reader}');")
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page


async def live_traffic(
    browser: Any,
    server: ServerProcess,
    data: dict[str, Any],
    target: str,
    seconds: float,
    rate: float,
) -> dict[str, float]:
    # A fresh reader whose cursor is at the newest message, so the room opens
    # at its bottom and follows it (a reader left behind by an earlier run
    # would open at its first unread, where new posts are not appended).
    reader = f"watcher-{time.monotonic_ns()}"
    async with httpx.AsyncClient(base_url=server.url) as http:
        newest = await http.get(f"/api/rooms/{data['big']}/messages", params={"limit": 1})
        await http.post(
            f"/api/rooms/{data['big']}/read",
            json={"reader": reader, "last_read_message_id": newest.json()["messages"][-1]["id"]},
        )
    context, page = await new_page(browser, reader=reader)
    posts = int(seconds * rate)
    try:
        await page.goto(f"{server.url}/?room={data['big']}")
        await page.wait_for_selector('#conn[data-state="live"]')
        await page.wait_for_selector("#message-list li.message")
        await page.wait_for_timeout(1500)  # let the opening settle: the load is what is measured
        await page.evaluate(PROBE)
        room = data["big"] if target == "open" else data["rooms"][7]
        async with Client(server.mcp_url, mode="legacy") as agent:
            start = time.perf_counter()
            for n in range(posts):
                due = start + n / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                content = BODIES[n % len(BODIES)].format(i=n)
                await agent.call_tool(
                    "post_message",
                    {"room_id": room, "sender": f"agent-{n % 11}", "content": content},
                )
        await page.wait_for_timeout(500)
        result = await page.evaluate(PROBE_RESULT)
    finally:
        await context.close()
    if target == "open" and result["shown"] != posts:
        raise RuntimeError(f"the open room showed {result['shown']} of the {posts} posts")
    long = result["long"]
    return {
        "window ms": result["window"],
        "long tasks": len(long),
        "long-task total ms": sum(long),
        "long-task share %": 100 * sum(long) / result["window"],
        "longest task ms": max(long, default=0.0),
        "p95 frame ms": percentile(result["frames"], 0.95),
        "frames over 20 ms": sum(frame > 20 for frame in result["frames"]),
        "messages shown": result["shown"],
    }


FIRST_ROW = """() => {
  window.__firstRow = null;
  new MutationObserver((_, observer) => {
    if (document.querySelector('#live-rooms .room-list > li')) {
      window.__firstRow = performance.now();
      observer.disconnect();
    }
  }).observe(document, { subtree: true, childList: true });
}"""


async def sidebar_load(browser: Any, server: ServerProcess, returning: bool) -> dict[str, float]:
    context, page = await new_page(browser, returning=returning)
    try:
        await context.add_init_script(f"({FIRST_ROW})()")
        cdp = await context.new_cdp_session(page)
        await cdp.send("Network.enable")
        received = [0]
        cdp.on(
            "Network.dataReceived",
            lambda e: received.__setitem__(0, received[0] + e["encodedDataLength"]),
        )
        cdp.on(
            "Network.responseReceived", lambda e: received.__setitem__(0, received[0] + 300)
        )  # headers
        await page.goto(server.url)
        await page.wait_for_function("() => window.__firstRow !== null")
        await page.wait_for_selector('#conn[data-state="live"]')
        await page.wait_for_timeout(1000)
        fcp = await page.evaluate(
            "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? 0"
        )
        first_row = await page.evaluate("window.__firstRow")
        rows = await page.locator("#live-rooms .room-list > li").count()
    finally:
        await context.close()
    return {
        "first paint ms": fcp,
        "first rows ms": first_row,
        "rows after first paint ms": max(0.0, first_row - fcp),
        "rows in the page": rows,
        "downloaded KB": received[0] / 1024,
    }


SHOWN = """(id) => {
  const el = document.querySelector(`li.message[data-id="${id}"]`);
  if (!el || !el.classList.contains('flash')) return false;
  const box = el.getBoundingClientRect();
  const view = document.getElementById('messages').getBoundingClientRect();
  if (box.bottom < view.top || box.top > view.bottom) return false;
  window.__shownAt = performance.now();
  return true;
}"""


async def deep_link(browser: Any, server: ServerProcess, data: dict[str, Any]) -> dict[str, float]:
    target = data["big_ids"][20]
    context, page = await new_page(browser)
    try:
        await page.goto(f"{server.url}/?room={data['big']}&msg={target}")
        await page.wait_for_function(SHOWN, arg=target, polling="raf")
        shown = await page.evaluate("window.__shownAt")
        count = await page.locator("#message-list li.message").count()
    finally:
        await context.close()
    return {"shown ms (from navigation)": shown, "messages in the page": count}


async def search_hit(browser: Any, server: ServerProcess, data: dict[str, Any]) -> dict[str, float]:
    target = data["big_ids"][20]
    context, page = await new_page(browser)
    try:
        await page.goto(f"{server.url}/?room={data['rooms'][3]}")
        await page.wait_for_selector('#conn[data-state="live"]')
        await page.fill("#search", NEEDLE)
        await page.press("#search", "Enter")
        hit = page.locator(f'#search-results a.hit[href$="msg={target}"]')
        await hit.wait_for()
        start = await page.evaluate(
            f"""() => {{ const t = performance.now();
                document.querySelector('#search-results a.hit[href$="msg={target}"]').click();
                return t; }}"""
        )
        await page.wait_for_function(SHOWN, arg=target, polling="raf")
        shown = await page.evaluate("window.__shownAt")
        count = await page.locator("#message-list li.message").count()
    finally:
        await context.close()
    return {"shown ms (from the click)": shown - start, "messages in the page": count}


OPENED = """([id, divider]) => {
  if (document.getElementById('room-name').textContent !== id) return false;
  const items = document.querySelectorAll('#message-list li.message');
  if (!items.length) return false;
  const el = divider ? document.querySelector('#message-list li.divider') : items[items.length - 1];
  if (!el) return false;
  const box = el.getBoundingClientRect();
  const view = document.getElementById('messages').getBoundingClientRect();
  if (box.bottom < view.top || box.top > view.bottom) return false;
  window.__openedAt = performance.now();
  return true;
}"""


async def open_room(
    browser: Any, server: ServerProcess, data: dict[str, Any], unread: bool
) -> float:
    reader = f"opener-{time.monotonic_ns()}"  # cursors only move forward: a fresh reader
    context, page = await new_page(browser, reader=reader)
    try:
        room = data["big"]
        async with httpx.AsyncClient(base_url=server.url) as http:
            # The live-traffic runs posted into it too: its newest id now.
            latest = await http.get(f"/api/rooms/{room}/messages", params={"limit": 300})
            ids = [m["id"] for m in latest.json()["messages"]]
            cursor = ids[0] if unread else ids[-1]
            await http.post(
                f"/api/rooms/{room}/read",
                json={"reader": reader, "last_read_message_id": cursor},
            )
            detail = (await http.get(f"/api/rooms/{room}")).json()
        await page.goto(f"{server.url}/?room={data['rooms'][5]}")
        await page.wait_for_selector('#conn[data-state="live"]')
        await page.wait_for_selector("#message-list li.message")
        start = await page.evaluate(
            f"""() => {{ const t = performance.now();
                history.pushState({{}}, '', '/?room={room}');
                dispatchEvent(new PopStateEvent('popstate'));
                return t; }}"""
        )
        try:
            await page.wait_for_function(
                OPENED, arg=[detail["name"], unread], polling="raf", timeout=TIMEOUT
            )
        except Exception:
            state = await page.evaluate(
                "() => [document.getElementById('room-name').textContent,"
                " document.querySelectorAll('#message-list li.message').length,"
                " document.getElementById('messages').scrollTop, location.href,"
                " document.getElementById('messages').scrollHeight,"
                " document.getElementById('messages').clientHeight,"
                " JSON.stringify(document.querySelector('#message-list li.message:last-of-type')"
                ".getBoundingClientRect()),"
                " JSON.stringify(document.getElementById('messages').getBoundingClientRect())]"
            )
            raise RuntimeError(f"the room did not open: {state}") from None
        opened = await page.evaluate("window.__openedAt")
    finally:
        await context.close()
    return float(opened - start)


def table(title: str, rows: list[dict[str, float]]) -> None:
    print(f"\n### {title}\n")
    print("| measure | median | min | max |")
    print("|---|---|---|---|")
    for key in rows[0]:
        values = [r[key] for r in rows]
        print(
            f"| {key} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |"
        )


PARTS = ("traffic", "sidebar", "links", "open")


@contextlib.contextmanager
def homes(args: argparse.Namespace) -> Any:
    """Two server homes: kept in (or reused from) a directory, or temporary."""
    kept = args.reuse or args.keep
    if kept:
        base = Path(kept)
        for name in ("main", "sidebar"):
            (base / name).mkdir(parents=True, exist_ok=True)
        yield base / "main", base / "sidebar"
        return
    with tempfile.TemporaryDirectory() as home, tempfile.TemporaryDirectory() as home2:
        yield Path(home), Path(home2)


async def run(args: argparse.Namespace) -> None:
    only = set(args.only.split(",")) if args.only else set(PARTS)
    if unknown := only - set(PARTS):
        raise SystemExit(f"--only: unknown part(s) {', '.join(sorted(unknown))}; parts: {PARTS}")
    results: list[tuple[str, list[dict[str, float]]]] = []
    with homes(args) as (home, home2):
        server = ServerProcess(home)
        sidebar_server = ServerProcess(home2)
        server.start()
        sidebar_server.start()
        try:
            if args.reuse:
                data = json.loads((Path(args.reuse) / "data.json").read_text())
                print(f"dataset reused from {args.reuse}")
            else:
                began = time.perf_counter()
                data = await build(server, args.rooms, args.big)
                await build(sidebar_server, args.sidebar_rooms, 0)
                print(f"dataset built through the server in {time.perf_counter() - began:.0f} s")
                if args.keep:
                    (Path(args.keep) / "data.json").write_text(json.dumps(data))
            async with chromium() as browser:
                runs = range(args.runs)
                if "traffic" in only:
                    for target, title in (
                        ("open", "into the open room"),
                        ("other", "into another room (sidebar only)"),
                    ):
                        rows = [
                            await live_traffic(
                                browser, server, data, target, args.seconds, args.rate
                            )
                            for _ in runs
                        ]
                        results.append(
                            (f"{args.rate:g} msg/s for {args.seconds:g} s {title}", rows)
                        )
                if "sidebar" in only:
                    for title, where, returning in (
                        (
                            f"sidebar of {args.sidebar_rooms} rooms,"
                            " first visit (cursors caught up)",
                            sidebar_server,
                            False,
                        ),
                        (
                            f"sidebar of {args.sidebar_rooms} rooms, returning visit",
                            sidebar_server,
                            True,
                        ),
                        (f"sidebar of {args.rooms} rooms, returning visit", server, True),
                    ):
                        rows = [await sidebar_load(browser, where, returning) for _ in runs]
                        results.append((title, rows))
                if "links" in only:
                    results.append(
                        (
                            "deep link to message 21 of the big room",
                            [await deep_link(browser, server, data) for _ in runs],
                        )
                    )
                    results.append(
                        (
                            "search hit to message 21 of the big room",
                            [await search_hit(browser, server, data) for _ in runs],
                        )
                    )
                if "open" in only:
                    opens = [
                        {
                            "to the newest messages ms": await open_room(
                                browser, server, data, False
                            ),
                            "to the first unread ms": await open_room(browser, server, data, True),
                        }
                        for _ in runs
                    ]
                    results.append(("opening the big room", opens))
        finally:
            server.stop()
            sidebar_server.stop()
    print(
        f"\nmachine: {platform.machine()}, {sys.platform}, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}; {args.rooms} rooms + a {args.big}-message room;"
        f" {args.runs} runs each"
    )
    for title, rows in results:
        table(title, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=2000)
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--sidebar-rooms", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--rate", type=float, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help=f"comma-separated parts to measure, of {','.join(PARTS)}")
    kept = parser.add_mutually_exclusive_group()
    kept.add_argument("--keep", metavar="DIR", help="build the dataset into DIR and keep it")
    kept.add_argument("--reuse", metavar="DIR", help="measure a dataset built with --keep DIR")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
