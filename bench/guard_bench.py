"""What the git guard adds to a commit of 1 000 files.

A real repository with 1 000 staged files, the real `chatnut serve` holding
`--claims` exclusive claims of other agents in the project (none over the
staged files, so every commit goes through and the whole check runs: every
file is matched against every claim), and `git commit` timed with the guard
installed and without it, interleaved, each commit undone with `git reset
--soft` so every run commits the same 1 000 files. Prints the medians, the
90th percentiles and what the guard adds.

    python -m bench.guard_bench [--files 1000] [--runs 15] [--claims 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.stats import ms, pct
from bench.systems import ours

BUDGET_S = 0.150


def git(repo: Path, *args: str, env: dict[str, str] | None = None) -> None:
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, timeout=120)


def timed_commit(repo: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    git(repo, "commit", "-q", "-m", "bench", env=env)
    took = time.perf_counter() - began
    git(repo, "reset", "-q", "--soft", "HEAD~1")
    return took


def bare_start() -> float:
    """An interpreter that does nothing, started as the hook starts it: the floor
    of the guard's cost on this machine, and a gauge of how busy it is."""
    began = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True, timeout=60)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--claims", type=int, default=20)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="chatnut-guard-bench-") as tmp:
        work = Path(tmp)
        server = ours(work / "chat.db", work / "home")
        server.start()
        try:
            room = httpx.post(f"{server.url}/api/rooms", json={"project": "bench", "name": "r"})
            room_id = room.json()["id"]
            for n in range(args.claims):
                body = {"agent_name": f"agent{n}", "paths": [f"other{n}/**", f"docs{n}/**/*.md"]}
                made = httpx.post(f"{server.url}/api/rooms/{room_id}/claims", json=body)
                assert made.json()["granted"], made.text

            repo = work / "repo"
            repo.mkdir()
            env = {**server.env, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.com"}
            env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.com"}
            git(repo, "init", "-q", "-b", "main")
            git(repo, "commit", "-q", "--allow-empty", "-m", "start", env=env)
            for n in range(args.files):
                path = repo / "src" / f"pkg{n % 40}" / f"module_{n}.py"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(f"value = {n}\n")
            git(repo, "add", "-A")

            def install(on: bool) -> None:
                verb = "install" if on else "uninstall"
                extra = ["--agent", "me", "--project", "bench"] if on else []
                subprocess.run(
                    [sys.executable, "-m", "chatnut", "guard", verb, *extra],
                    cwd=repo,
                    env=env,
                    check=True,
                    capture_output=True,
                    timeout=60,
                )

            plain: list[float] = []
            guarded: list[float] = []
            interpreter: list[float] = []
            for _ in range(args.runs):
                install(False)
                plain.append(timed_commit(repo, env))
                install(True)
                guarded.append(timed_commit(repo, env))
                interpreter.append(bare_start())
            install(False)
        finally:
            server.stop()

    added = [g - p for g, p in zip(guarded, plain, strict=True)]
    print(f"git commit of {args.files} files, {args.claims} claims of others, {args.runs} runs")
    print("| | median | p90 |\n|---|---|---|")
    print(f"| without the guard | {ms(statistics.median(plain))} | {ms(pct(plain, 90))} |")
    print(f"| with the guard | {ms(statistics.median(guarded))} | {ms(pct(guarded, 90))} |")
    median_added = statistics.median(guarded) - statistics.median(plain)
    print(f"| added (medians) | {ms(median_added)} | |")
    print(f"| added (pairwise) | {ms(statistics.median(added))} | {ms(pct(added, 90))} |")
    start, start_p90 = statistics.median(interpreter), pct(interpreter, 90)
    print(f"| `python -I -S -c pass` alone | {ms(start)} | {ms(start_p90)} |")
    verdict = "under" if median_added < BUDGET_S else "OVER"
    print(f"the guard adds {ms(median_added)}: {verdict} the {ms(BUDGET_S)} budget")
    print(f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
