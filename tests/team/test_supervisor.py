"""The `--workers N` supervisor on its own: real forks, one shared socket, real signals.

The workers serve a tiny app (tests/team/supervised_app.py) so that what is tested
is the supervisor: every worker answers on the one port, the runtime files
describe the whole server, a killed worker is replaced, SIGTERM stops them
all, a worker that cannot start fails the start, and workers do not outlive
a parent killed with -9.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import READY_MARK, alive, worker_pids

pytestmark = pytest.mark.e2e


class Supervised:
    def __init__(self, home: Path, workers: int, mode: str = "ok") -> None:
        self.home = home
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.team.supervised_app", str(home), str(workers), mode],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []

    def wait_ready(self) -> bool:
        """True once it logs that it is ready; False if it exits first."""
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if READY_MARK in line:
                return True
        return False

    def read_until(self, text: str) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"never logged {text!r}:\n{''.join(self.lines)}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{(self.home / 'server.port').read_text().strip()}"

    def workers(self) -> set[int]:
        return worker_pids(self.home)

    def answering(self, want: set[int]) -> set[int]:
        """The pids that answer, over fresh connections, until `want` have (bounded)."""
        seen: set[int] = set()
        with httpx.Client(limits=httpx.Limits(max_keepalive_connections=0), timeout=5) as http:
            for _ in range(500):
                seen.add(http.get(self.url).json()["pid"])
                if want <= seen:
                    break
        return seen

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        if self.proc.stderr is not None and not self.proc.stderr.closed:
            self.lines.extend(self.proc.stderr)
            self.proc.stderr.close()
        return code

    def kill(self) -> None:
        """Whatever a test left running (a failed assertion skips its stop())."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if self.proc.stderr is not None:
            self.proc.stderr.close()


@pytest.fixture
def supervised(home: Path) -> Iterator[Callable[..., Supervised]]:
    """Starts supervisors on `home`; any still running after the test is killed."""
    started: list[Supervised] = []

    def start(workers: int, mode: str = "ok") -> Supervised:
        started.append(Supervised(home, workers, mode))
        return started[-1]

    yield start
    for server in started:
        server.kill()


def gone_within(pids: set[int], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while any(alive(p) for p in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture
def three(supervised: Callable[..., Supervised]) -> Supervised:
    server = supervised(3)
    assert server.wait_ready(), "".join(server.lines)
    return server


def test_every_worker_answers_on_the_one_port_and_the_files_say_so(three: Supervised) -> None:
    assert three.proc.poll() is None
    assert int((three.home / "server.pid").read_text()) == three.proc.pid
    workers = three.workers()
    assert len(workers) == 3 and three.proc.pid not in workers
    assert three.answering(workers) == workers
    ready = next(line for line in three.lines if READY_MARK in line)
    assert "3 workers" in ready


def test_a_killed_worker_is_replaced_and_sigterm_stops_them_all(three: Supervised) -> None:
    workers = three.workers()
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    three.read_until("restarted")
    assert any("died (signal SIGKILL)" in line for line in three.lines)
    replaced = three.workers()
    assert victim not in replaced and len(replaced) == 3
    assert three.answering(replaced) == replaced  # the new one serves too
    assert three.stop() == 0
    assert gone_within(replaced, 5)
    for name in ("server.pid", "server.port", "server.workers"):
        assert not (three.home / name).exists()


def test_workers_do_not_outlive_a_parent_killed_with_9(
    supervised: Callable[..., Supervised],
) -> None:
    server = supervised(2)
    assert server.wait_ready()
    workers = server.workers()
    server.proc.kill()
    server.proc.wait(timeout=10)
    assert gone_within(workers, 10)
    server.stop()


# One worker: its ready pipe ends with nothing said, and no other worker's
# death is there to be reaped first (a pipe's end once read as "ready").
@pytest.mark.parametrize("workers", [1, 2])
def test_a_worker_that_cannot_start_fails_the_start(
    home: Path, supervised: Callable[..., Supervised], workers: int
) -> None:
    server = supervised(workers, "fail-start")
    assert not server.wait_ready()
    assert server.stop() == 1
    assert any("exited (exit code 3) before it was ready" in line for line in server.lines)
    assert not (home / "server.port").exists() and not (home / "server.pid").exists()
    assert not (home / "server.workers").exists()
