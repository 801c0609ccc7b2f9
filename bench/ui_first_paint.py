"""Time to first paint of a 10 000-message room, measured in the real browser.

    .venv/bin/python bench/ui_first_paint.py [--messages 10000] [--runs 5]

Starts `chatnut serve` on a temporary home, fills one room straight through
SQLite (with Markdown and code, as agents write), opens `/?room=<id>` in
Debian's Chromium (headless) and reads the browser's own clocks: first
contentful paint, and the moment the newest message is on screen. Prints a
table; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sqlite3
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import chromium  # noqa: E402
from tests.helpers import ServerProcess  # noqa: E402

BODY = (
    "Step {i}: refactor `auth/session.py`.\n\n```python\ndef check(token: str) -> bool:\n"
    "    return verify(token, key=KEY)\n```\n\n| case | result |\n|---|---|\n| ok | pass |"
)


def fill(server: ServerProcess, count: int) -> str:
    request = urllib.request.Request(
        f"{server.url}/api/rooms",
        data=json.dumps({"project": "bench", "name": "ten-thousand"}).encode(),
        headers={"content-type": "application/json"},
    )
    room = json.load(urllib.request.urlopen(request))["id"]
    with sqlite3.connect(server.home / "chatnut.db", timeout=30) as conn:
        conn.executemany(
            "INSERT INTO messages (room_id, sender, content, message_type, created_at)"
            " VALUES (?, ?, ?, 'message', '2026-11-24T10:00:00.000+00:00')",
            ((room, f"agent{i % 5}", BODY.format(i=i)) for i in range(count)),
        )
    return str(room)


async def measure(url: str, runs: int) -> list[tuple[float, float]]:
    results = []
    async with chromium() as browser:
        for _ in range(runs):
            context = await browser.new_context(viewport={"width": 1280, "height": 800})
            page = await context.new_page()
            await page.goto(url)
            await page.locator("#message-list li.message").nth(99).wait_for(state="attached")
            fcp = await page.evaluate(
                "performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1"
            )
            shown = await page.evaluate("performance.now()")
            results.append((float(fcp), float(shown)))
            await context.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        server = ServerProcess(Path(home))
        server.start()
        try:
            room = fill(server, args.messages)
            results = asyncio.run(measure(f"{server.url}/?room={room}", args.runs))
        finally:
            server.stop()
    fcp = [r[0] for r in results]
    shown = [r[1] for r in results]
    print(
        f"machine: {platform.machine()}, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}; {args.messages} messages, {args.runs} runs"
    )
    print("| measure (ms from navigation start) | median | min | max |")
    print("|---|---|---|---|")
    for name, values in (("first contentful paint", fcp), ("newest 100 messages shown", shown)):
        median = statistics.median(values)
        print(f"| {name} | {median:.0f} | {min(values):.0f} | {max(values):.0f} |")


if __name__ == "__main__":
    main()
