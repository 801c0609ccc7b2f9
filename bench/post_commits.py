"""`python -m bench.post_commits REV [REV ...]`: the MCP post path at several
commits, side by side in one run.

A regression spread over many commits is easier to place when each commit is
measured beside the current code on the same machine in the same minute than
against figures from another day. For each REV this checks the commit out
into a temporary git worktree, starts its `chatnut serve` (the commit's
`app/be` first on PYTHONPATH, this checkout's dependencies), and times
sequential `post_message` calls through the official MCP client, twice; then
the same for this checkout, so every row has its own reference beside it.

Commits from before the store left aiosqlite need it importable: install it
anywhere and pass that folder with `--extra-path`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
from pathlib import Path

from bench.post_path import mcp_path
from bench.stats import pct
from bench.systems import ROOT

HERE = str(ROOT / "app" / "be")


async def p50_ms(code: str, posts: int) -> float:
    """Median post through a server importing chatnut from `code`."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = code  # the server inherits it (bench.systems)
    try:
        with tempfile.TemporaryDirectory(prefix="chatnut-post-commits-") as work:
            latencies = await mcp_path(str(Path(work) / "bench.db"), posts, Path(work) / "home")
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return pct(latencies, 50) * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.post_commits", description=__doc__)
    parser.add_argument("revs", nargs="+", help="commits to measure, oldest first")
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument(
        "--extra-path",
        default="",
        help="also on PYTHONPATH, after the commit's code (for old commits)",
    )
    args = parser.parse_args()
    print("| commit | p50 ms (best of 2) | this checkout beside it, p50 ms | commit ÷ checkout |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="chatnut-worktrees-") as trees:
        for rev in args.revs:
            tree = Path(trees) / rev
            subprocess.run(
                ["git", "worktree", "add", "--detach", "-q", str(tree), rev], cwd=ROOT, check=True
            )
            try:
                code = os.pathsep.join(p for p in (str(tree / "app" / "be"), args.extra_path) if p)
                then = min([await p50_ms(code, args.posts) for _ in range(2)])
                now = await p50_ms(HERE, args.posts)
                print(f"| {rev} | {then:.3f} | {now:.3f} | {then / now:.2f} |", flush=True)
            finally:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=True
                )


if __name__ == "__main__":
    asyncio.run(main())
