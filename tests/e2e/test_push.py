"""`chatnut --agent NAME`: the stdio bridge as a Claude Code channel, driven by the
official MCP client over stdio against the real server (both backends, and a
two-worker PostgreSQL team server). What a live Claude turn would show is the
`notifications/claude/channel` the client receives here."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.extension import ClientExtension, NotificationBinding
from mcp.client.stdio import StdioServerParameters
from pydantic import BaseModel

from chatnut.push import WINDOW_S
from tests.helpers import ServerProcess
from tests.mcp_client import CheckedClient

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

EVENT_DEADLINE = 15.0  # a bound on waiting for events, never a sleep


class ChannelEvent(BaseModel):
    content: str
    meta: dict[str, str]


class Channel(ClientExtension):
    """Collects the channel events a bridge pushes."""

    identifier = "io.chatnut/test-channel"

    def __init__(self) -> None:
        self.events: list[tuple[float, ChannelEvent]] = []

    def notifications(self) -> list[NotificationBinding[Any]]:
        return [
            NotificationBinding(
                method="notifications/claude/channel", params_type=ChannelEvent, handler=self.on
            )
        ]

    async def on(self, event: ChannelEvent) -> None:
        self.events.append((time.monotonic(), event))

    async def until(self, count: int) -> list[ChannelEvent]:
        with anyio.fail_after(EVENT_DEADLINE):
            while len(self.events) < count:
                await anyio.sleep(0.01)
        return [e for _, e in self.events]

    def ids(self) -> list[int]:
        """Every message id pushed, singles and digests alike, in order."""
        found: list[int] = []
        for _, event in self.events:
            if event.meta["message_type"] == "digest":
                found += [int(i) for i in event.meta["message_ids"].split(",")]
            else:
                found.append(int(event.meta["message_id"]))
        return found


def bridge(
    home: Path, url: str, agent: str = "dev", pid_file: Path | None = None
) -> StdioServerParameters:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATNUT_")}
    env.update(CHATNUT_HOME=str(home), CHATNUT_UPDATE_CHECK="0")
    argv = ["--url", url, "--agent", agent]
    if pid_file is None:
        return StdioServerParameters(command=sys.executable, args=["-m", "chatnut", *argv], env=env)
    # Writes its pid first, so the test can kill -9 it like a crash.
    code = (
        f"import os; open({str(pid_file)!r}, 'w').write(str(os.getpid()));"
        f" from chatnut.cli import main; raise SystemExit(main({argv!r}))"
    )
    return StdioServerParameters(command=sys.executable, args=["-c", code], env=env)


@contextlib.asynccontextmanager
async def pushed_to(params: StdioServerParameters) -> AsyncIterator[tuple[Client, Channel]]:
    channel = Channel()
    async with Client(params, mode="legacy", extensions=[channel]) as client:
        yield client, channel


@contextlib.asynccontextmanager
async def http_agent(server: ServerProcess) -> AsyncIterator[CheckedClient]:
    async with Client(server.mcp_url, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        yield CheckedClient(client, {t.name: t.output_schema for t in tools if t.output_schema})


async def room_with_dev(poster: CheckedClient, name: str = "push") -> str:
    room = await poster.ok("init_room", project="proj", name=name)
    await poster.ok("register_agent", room_id=room["id"], agent_name="dev", task_id="t1")
    return str(room["id"])


async def until_holding(poster: CheckedClient, room: str, *channels: Channel) -> None:
    """Wait until a bridge pushes for dev, then start from a clean slate.

    A name never pushed to starts at the newest message when its first bridge
    polls, so probes are posted until one arrives; then a fence, and once the
    fence is in, no probe can follow it (events come in id order)."""

    def pushed() -> list[int]:
        return [i for c in channels for i in c.ids()]

    async def post(text: str) -> int:
        message = await poster.ok(
            "post_message", room_id=room, sender="lead", content=text, to="dev"
        )
        return int(message["id"])

    with anyio.fail_after(EVENT_DEADLINE):
        while not pushed():
            await post("probe")
            with anyio.move_on_after(0.5):
                while not pushed():
                    await anyio.sleep(0.01)
        fence = await post("fence")
        while fence not in pushed():
            await anyio.sleep(0.01)
    for channel in channels:
        channel.events.clear()


async def until_delivered(poster: CheckedClient, room: str, message_id: int) -> None:
    """The bridge confirmed the push (the server stamped the receipt delivered)."""
    with anyio.fail_after(EVENT_DEADLINE):
        while True:
            page = await poster.ok("read_messages", room_id=room, since_id=message_id - 1, limit=1)
            if page["messages"][0]["receipts"]["dev"]["delivered_at"]:
                return
            await anyio.sleep(0.02)


@pytest.mark.both_backends
async def test_addressed_posts_are_pushed_within_a_second_and_nothing_else(
    server: ServerProcess, tmp_path: Path
) -> None:
    async with (
        http_agent(server) as poster,
        pushed_to(bridge(tmp_path, server.url)) as (
            client,
            channel,
        ),
    ):
        assert client.server_capabilities.experimental == {"claude/channel": {}}
        room = await room_with_dev(poster)
        await until_holding(poster, room, channel)

        await poster.ok("post_message", room_id=room, sender="lead", content="for everyone")
        await poster.ok("post_message", room_id=room, sender="dev", content="mine", to="dev")
        await poster.ok("post_message", room_id=room, sender="lead", content="@qa only")
        body = "please review the migration " + "x" * 400
        directed = await poster.ok(
            "post_message", room_id=room, sender="lead", content=body, to="dev", ack_required=True
        )
        posted_at = time.monotonic()
        mention = await poster.ok("post_message", room_id=room, sender="qa", content="@DEV look")
        events = await channel.until(2)
        assert channel.events[0][0] - posted_at < 1.0  # within a second of the post
        assert channel.ids() == [directed["id"], mention["id"]]  # none for the others
        first = events[0]
        assert first.meta == {
            "room_id": room,
            "message_id": str(directed["id"]),
            "sender": "lead",
            "project": "proj",
            "room": "push",
            "message_type": "message",
        }
        line = first.content
        assert "\n" not in line and line.startswith("lead to dev in proj/push: please review")
        assert "x" * 300 not in line and f"since_id={directed['id'] - 1}" in line
        assert "ack_message" in line
        # Pushing is delivering: the receipt says so.
        read = await poster.ok("read_messages", room_id=room, since_id=directed["id"] - 1, limit=1)
        assert read["messages"][0]["receipts"]["dev"]["delivered_at"] is not None


@pytest.mark.both_backends
@pytest.mark.slow  # waits out a killed bridge's lease
async def test_a_restarted_bridge_resumes_without_duplicate_or_gap(
    server: ServerProcess, tmp_path: Path
) -> None:
    pid_file = tmp_path / "bridge.pid"
    async with http_agent(server) as poster:
        room = await room_with_dev(poster)
        pushed: list[int] = []
        # A clean exit, then a crash (kill -9: no release, the lease must lapse).
        for crash in (False, True):
            params = bridge(tmp_path, server.url, pid_file=pid_file if crash else None)
            async with contextlib.AsyncExitStack() as stack:
                _client, channel = await stack.enter_async_context(pushed_to(params))
                if not pushed:
                    await until_holding(poster, room, channel)
                before = await poster.ok(
                    "post_message", room_id=room, sender="lead", content="one", to="dev"
                )
                await channel.until(1)
                pushed += channel.ids()
                assert pushed[-1] == before["id"]
                if crash:
                    await until_delivered(poster, room, before["id"])
                    os.kill(int(pid_file.read_text()), signal.SIGKILL)
                    with contextlib.suppress(Exception):
                        await stack.aclose()  # the client finds its server gone
            # Posted while no bridge runs: the next one must push these, once.
            between = []
            for i in range(2):
                message = await poster.ok(
                    "post_message", room_id=room, sender="lead", content=f"b{i}", to="dev"
                )
                between.append(message["id"])
            async with pushed_to(bridge(tmp_path, server.url)) as (_client, channel):
                await channel.until(2)
                pushed += channel.ids()
            assert pushed[-2:] == between
        assert len(pushed) == len(set(pushed)) == 6  # no duplicate, no gap


@pytest.mark.both_backends
async def test_two_bridges_for_one_name_push_once(server: ServerProcess, tmp_path: Path) -> None:
    async with (
        http_agent(server) as poster,
        pushed_to(bridge(tmp_path, server.url)) as (_a, first),
        pushed_to(bridge(tmp_path, server.url)) as (_b, second),
    ):
        room = await room_with_dev(poster)
        await until_holding(poster, room, first, second)
        sent = []
        for i in range(4):
            message = await poster.ok(
                "post_message", room_id=room, sender="lead", content=f"m{i}", to="dev"
            )
            sent.append(message["id"])
            with anyio.fail_after(EVENT_DEADLINE):
                while message["id"] not in first.ids() + second.ids():
                    await anyio.sleep(0.01)
            await anyio.sleep(0.3)  # room for a second bridge to push it too, were it able
        assert sorted(first.ids() + second.ids()) == sent  # each once
        assert not (first.ids() and second.ids())  # and all by the one holding the name


@pytest.mark.both_backends
async def test_a_burst_becomes_one_digest(server: ServerProcess, tmp_path: Path) -> None:
    async with (
        http_agent(server) as poster,
        pushed_to(bridge(tmp_path, server.url)) as (
            _client,
            channel,
        ),
    ):
        room = await room_with_dev(poster)
        await until_holding(poster, room, channel)
        sent = []
        for i in range(12):
            posted = await poster.ok(
                "post_message", room_id=room, sender="lead", content=f"flood {i}", to="dev"
            )
            sent.append(posted["id"])
        with anyio.fail_after(EVENT_DEADLINE):
            while len(channel.ids()) < len(sent):
                await anyio.sleep(0.01)
        assert channel.ids() == sent  # every message once, in order
        kinds = [e.meta["message_type"] for _, e in channel.events]
        assert "digest" in kinds and kinds.index("digest") <= 5  # at most 5 singles first
        assert len(kinds) < len(sent)
        first = next(e for _, e in channel.events if e.meta["message_type"] == "digest")
        assert "check_inbox(agent_name='dev'" in first.content and "\n" not in first.content


async def test_a_post_through_another_worker_is_pushed_within_a_second(
    team_server: Callable[[int], ServerProcess], tmp_path: Path
) -> None:
    server = team_server(2)
    async with pushed_to(bridge(tmp_path, server.url)) as (_client, channel):
        async with http_agent(server) as poster:
            await until_holding(poster, await room_with_dev(poster, "start"), channel)
        # Pacing, not waiting for an event: the probes above must leave the burst
        # window, or the rounds below would (rightly) come as a digest.
        await anyio.sleep(WINDOW_S)
        for round_ in range(4):  # fresh connections: the kernel spreads them over workers
            async with http_agent(server) as poster:
                room = await room_with_dev(poster, f"w{round_}")
                posted = await poster.ok(
                    "post_message", room_id=room, sender="lead", content="hi", to="dev"
                )
                sent_at = time.monotonic()
                await channel.until(round_ + 1)
                assert channel.events[-1][0] - sent_at < 1.0
                assert channel.ids()[-1] == posted["id"]
