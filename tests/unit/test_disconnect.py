"""The one disconnect watcher: work answers unless its client hangs up first,
and then the work is cancelled at once (the real-server tests for both long
polls are in test_waits.py and test_api_coordination.py)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from chatnut.disconnect import ClientLeft, unless_client_leaves

pytestmark = pytest.mark.anyio


def client(leaves: anyio.Event) -> Any:
    """A `receive` past its body: stray messages, then a disconnect when `leaves` is set."""
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop()
        await leaves.wait()
        return {"type": "http.disconnect"}

    return receive


async def test_work_that_answers_is_returned_and_the_watcher_stops() -> None:
    async def work() -> str:
        await anyio.sleep(0)
        return "answer"

    with anyio.fail_after(5):
        assert await unless_client_leaves(client(anyio.Event()), work()) == "answer"


async def test_a_client_that_hangs_up_cancels_the_work_at_once() -> None:
    leaves = anyio.Event()
    cancelled = anyio.Event()
    started = anyio.Event()

    async def parked() -> str:
        started.set()
        try:
            await anyio.sleep(60)
        except anyio.get_cancelled_exc_class():
            cancelled.set()
            raise
        return "too late"

    async def hang_up() -> None:
        await started.wait()
        leaves.set()

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(hang_up)
            with pytest.raises(ClientLeft):
                await unless_client_leaves(client(leaves), parked())
    assert cancelled.is_set()


async def test_an_error_in_the_work_is_the_callers() -> None:
    async def broken() -> None:
        raise ValueError("no such room")

    with anyio.fail_after(5), pytest.raises(ValueError, match="no such room"):
        await unless_client_leaves(client(anyio.Event()), broken())
