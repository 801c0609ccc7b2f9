"""`chatnut post --to`, `tail --to`, `handoff` and `inbox [--follow]` against the
real server process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.e2e.cli_calls import cli, make_room
from tests.helpers import ServerProcess, interrupt

pytestmark = pytest.mark.e2e


def post(server: ServerProcess, room_id: str, content: str, **extra: object) -> dict[str, object]:
    body = {"sender": "qa", "content": content, **extra}
    response = httpx.post(f"{server.url}/api/rooms/{room_id}/messages", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, object] = response.json()
    return result


def test_post_to_addresses_and_tail_to_shows_only_those(
    cli_env: ServerProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    room_id = make_room(cli_env)
    code, out, err = cli(
        capsys, "post", "demo/plan", "is it done?", "--sender", "lead", "--to", "Dev", "--to", "qa"
    )
    assert code == 0, err
    assert out.startswith("posted #1 to demo/plan → dev, qa")
    post(cli_env, room_id, "noise")
    post(cli_env, room_id, "the summary", message_type="summary", to="dev")
    code, out, _ = cli(capsys, "tail", "demo/plan", "--to", "DEV", "--once", "--color", "never")
    lines = out.splitlines()
    assert [line.split(" ", 2)[2] for line in lines] == [
        "lead → dev, qa: is it done?",
        "qa → dev [summary]: the summary",
    ]
    code, out, err = cli(capsys, "post", "demo/plan", "x", "--sender", "a", "--to", "")
    assert code == 1 and "to must not be empty" in err
    messages = httpx.get(f"{cli_env.url}/api/rooms/{room_id}/messages").json()["messages"]
    assert len(messages) == 3  # the refused post wrote nothing


def test_tail_to_follows_only_addressed_posts(cli_env: ServerProcess) -> None:
    room_id = make_room(cli_env)
    with subprocess.Popen(
        [sys.executable, "-m", "chatnut", "tail", "demo/plan", "--to", "dev", "--color", "never"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as tail:
        try:
            assert tail.stderr is not None and tail.stdout is not None
            assert tail.stderr.readline().startswith("chatnut: following the room")
            post(cli_env, room_id, "not for dev", to="qa")
            post(cli_env, room_id, "for dev", to="dev")
            assert tail.stdout.readline().rstrip().endswith("qa → dev: for dev")
        finally:
            interrupt(tail)


def test_handoff_text_and_json(
    cli_env: ServerProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    room_id = make_room(cli_env)
    httpx.post(
        f"{cli_env.url}/api/rooms/{room_id}/agents", json={"agent_name": "dev", "task_id": "t-1"}
    )
    httpx.post(
        f"{cli_env.url}/api/rooms/{room_id}/statuses", json={"sender": "dev", "status": "coding"}
    )
    post(cli_env, room_id, "state: red", message_type="summary")
    last = post(cli_env, room_id, "after the summary")
    code, out, _ = cli(capsys, "handoff", "demo/plan", "--reader", "newcomer")
    assert code == 0
    assert out.startswith("demo/plan (live)\nteam:\n  @dev · seen ")
    assert "  dev: coding · seen " in out
    assert "[summary]: state: red" in out
    assert "unread for newcomer: 2" in out and out.endswith(f"next since id: {last['id']}\n")
    code, out, _ = cli(capsys, "handoff", room_id, "--reader", "dev", "--format", "json")
    found = json.loads(out)
    assert found["unread_count"] == 2 and found["latest_summary"]["message_type"] == "summary"
    code, _, err = cli(capsys, "handoff", room_id, "--reader", "dev", "--recent", "101")
    assert code == 1 and "recent" in err and "\n" not in err.strip()


def test_inbox_lists_and_follows_across_rooms(
    cli_env: ServerProcess,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = make_room(cli_env, name="one"), make_room(cli_env, name="two")
    post(cli_env, first, "to dev in one", to="dev")
    post(cli_env, second, "to qa in two", to="qa")
    code, out, _ = cli(capsys, "inbox", "DEV")
    assert code == 0 and out.startswith("[demo/one] #1 ")
    assert out.rstrip().endswith("qa → dev: to dev in one") and len(out.splitlines()) == 1
    with subprocess.Popen(
        [sys.executable, "-m", "chatnut", "inbox", "dev", "--follow", "--format", "json"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        text=True,
    ) as follow:
        try:
            assert follow.stdout is not None
            assert json.loads(follow.stdout.readline())["content"] == "to dev in one"
            posted = time.monotonic()
            post(cli_env, second, "now dev in two", to="dev")
            woken = json.loads(follow.stdout.readline())
            assert woken["content"] == "now dev in two" and woken["room"]["name"] == "two"
            assert time.monotonic() - posted < 10  # woken by the post, not a 60 s poll
        finally:
            interrupt(follow)
