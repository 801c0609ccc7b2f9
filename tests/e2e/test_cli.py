"""The terminal commands against the real server process: status, stop, post, tail,
rooms, export, open, backup, prune — and their refusals."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.cli_calls import cli, make_room
from tests.helpers import ServerProcess, interrupt

pytestmark = pytest.mark.e2e


def test_status_reports_the_running_server(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    make_room(cli_env)
    code, out, _ = cli(capsys, "status", "--json")
    facts = json.loads(out)
    assert code == 0 and facts["running"] is True
    assert facts["port"] == cli_env.port and facts["pid"] == cli_env.proc.pid  # type: ignore[union-attr]
    assert facts["db_path"] == str(cli_env.home / "chatnut.db")
    assert facts["rooms"] == 1 and facts["messages"] == 0 and facts["version"]


def test_stop_stops_the_server_and_status_then_says_so(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "stop")
    assert code == 0 and f"pid {cli_env.proc.pid}" in out  # type: ignore[union-attr]
    # A clean SIGTERM exit (uvicorn re-raises the signal once it has shut down).
    assert cli_env.proc is not None and cli_env.proc.wait(timeout=5) in (0, -signal.SIGTERM)
    assert not (cli_env.home / "server.pid").exists()
    code, out, _ = cli(capsys, "status")
    assert code == 1 and "not running" in out
    code, out, _ = cli(capsys, "stop")
    assert code == 0 and "no server is running" in out


def test_stale_files_of_a_killed_server_are_detected_and_removed(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_env.kill()
    assert (cli_env.home / "server.pid").exists()
    code, out, _ = cli(capsys, "status")
    assert code == 1 and "removed stale" in out
    assert not (cli_env.home / "server.pid").exists()
    assert not (cli_env.home / "server.port").exists()


def test_post_by_project_name_and_read_back_with_tail_once(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    room_id = make_room(cli_env)
    code, out, _ = cli(capsys, "post", "demo/plan", "hello **team**", "--sender", "ana")
    assert code == 0 and "posted #" in out
    code, out, _ = cli(capsys, "post", room_id, "second\nline", "--sender", "bo", "--reply-to", "1")
    assert code == 0
    code, out, _ = cli(capsys, "tail", "demo/plan", "--once", "--color", "never")
    lines = out.splitlines()
    assert lines[0].endswith(" ana: hello **team**") and lines[0].startswith("#1 ")
    assert lines[1].endswith(" bo ↪ #1: second") and lines[2] == "    line"
    code, out, _ = cli(capsys, "tail", room_id, "--once", "--since", "1", "--format", "json")
    messages = [json.loads(line) for line in out.splitlines()]
    assert [m["content"] for m in messages] == ["second\nline"]
    assert messages[0]["metadata"] == {"source": "cli", "reply_to": 1}


def test_post_create_makes_the_room_once(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    for text in ("first", "second"):
        code, out, _ = cli(capsys, "post", "fresh/room", text, "--sender", "me", "--create")
        assert code == 0 and "to fresh/room" in out
    rooms = httpx.get(f"{cli_env.url}/api/rooms").json()["rooms"]
    assert [(r["project"], r["name"], r["message_count"]) for r in rooms] == [("fresh", "room", 2)]


def test_unknown_room_and_bad_room_spelling_are_clear_errors(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = cli(capsys, "post", "demo/nope", "x", "--sender", "a")
    assert code == 1 and "no room 'demo/nope'" in err
    code, _, err = cli(capsys, "tail", "justaname", "--once")
    assert code == 1 and "neither a room id nor project/name" in err
    code, _, err = cli(capsys, "tail", "00000000-0000-4000-8000-000000000000", "--once")
    assert code == 1 and "not found" in err


def test_tail_follows_a_post_at_once_and_survives_a_restart(cli_env: ServerProcess) -> None:
    room_id = make_room(cli_env)
    with subprocess.Popen(
        [sys.executable, "-m", "chatnut", "tail", "demo/plan", "--color", "never"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as tail:
        try:
            # tail says on stderr once it follows: by the SSE feed where the server
            # has one, else by wait_for_messages (this branch's server has none).
            assert tail.stderr is not None and tail.stdout is not None
            assert tail.stderr.readline().startswith("chatnut: following the room")
            result = subprocess.run(
                [sys.executable, "-m", "chatnut", "post", "demo/plan", "ship it", "--sender", "cy"],
                env=dict(os.environ),
                capture_output=True,
                text=True,
                timeout=30,
            )
            assert result.returncode == 0, result.stderr
            posted = time.monotonic()  # the post is stored: from here the tail is woken
            line = tail.stdout.readline()
            assert line.rstrip().endswith(" cy: ship it")
            assert time.monotonic() - posted < 10  # woken by the post, not a 60 s wait
            # A server restart does not end the tail: it reconnects and goes on.
            cli_env.stop()
            cli_env.start()
            httpx.post(
                f"{cli_env.url}/api/rooms/{room_id}/messages",
                json={"sender": "cy", "content": "after the restart"},
            )
            assert tail.stdout.readline().rstrip().endswith(" cy: after the restart")
        finally:
            interrupt(tail)


def test_rooms_lists_unread_counts(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    room_id = make_room(cli_env)
    for text in ("one", "two", "three"):
        cli(capsys, "post", room_id, text, "--sender", "ana")
    httpx.post(
        f"{cli_env.url}/api/rooms/{room_id}/read",
        json={"reader": "me", "last_read_message_id": 1},
    )
    code, out, _ = cli(capsys, "rooms", "--reader", "me")
    assert code == 0
    header, row = out.splitlines()
    assert header.split() == ["ROOM", "STATUS", "MESSAGES", "UNREAD", "ID"]
    assert row.split() == ["demo/plan", "live", "3", "2", room_id]


def test_export_to_stdout_and_file_never_overwrites(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    make_room(cli_env)
    cli(capsys, "post", "demo/plan", "exported text", "--sender", "ana")
    code, out, _ = cli(capsys, "export", "demo/plan")
    assert code == 0 and out.startswith("# demo / plan") and "exported text" in out
    target = tmp_path / "room.json"
    target.write_text("keep me")
    code, _, err = cli(capsys, "export", "demo/plan", "--format", "json", "-o", str(target))
    assert code == 1 and "exists" in err and target.read_text() == "keep me"
    code, _, _ = cli(
        capsys, "export", "demo/plan", "--format", "json", "-o", str(target), "--force"
    )
    assert json.loads(target.read_text())["messages"][0]["content"] == "exported text"


def test_open_url_only_prints_the_room_page(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    room_id = make_room(cli_env)
    code, out, _ = cli(capsys, "open", "demo/plan", "--url-only")
    assert code == 0 and out.strip() == f"{cli_env.url}/?room={room_id}"


def test_open_with_a_token_hands_out_a_sign_in_link_to_the_room(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ServerProcess(home, env={"CHATNUT_TOKEN": "tok-123"})
    server.start(port=0)
    try:
        monkeypatch.setenv("CHATNUT_HOME", str(home))
        monkeypatch.setenv("CHATNUT_TOKEN", "tok-123")
        headers = {"Authorization": "Bearer tok-123"}
        room = httpx.post(
            f"{server.url}/api/rooms", json={"project": "p", "name": "r"}, headers=headers
        ).json()
        code, out, _ = cli(capsys, "open", "p/r", "--url-only")
        assert code == 0 and "tok-123" not in out
        answer = httpx.get(out.strip(), follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"] == f"/?room={room['id']}"
    finally:
        server.stop()


def test_backup_while_the_server_writes_opens_with_serve_db(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    room_id = make_room(cli_env)
    for i in range(20):
        cli(capsys, "post", room_id, f"message {i}", "--sender", "ana")
    copy = tmp_path / "copy.db"
    code, out, _ = cli(capsys, "backup", str(copy))
    assert code == 0 and "20 messages" in out
    code, _, err = cli(capsys, "backup", str(copy))
    assert code == 1 and "never overwrites" in err
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    other = ServerProcess(tmp_path / "other-home", extra_args=["--db", str(copy)])
    (tmp_path / "other-home").mkdir()
    other.start(port=0)
    try:
        status = httpx.get(f"{other.url}/api/status").json()
        assert status["db_path"] == str(copy) and status["messages"] == 20
    finally:
        other.stop()


def test_prune_deletes_only_old_archived_rooms(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    old = make_room(cli_env, name="old")
    make_room(cli_env, name="live")
    cli(capsys, "post", old, "bye", "--sender", "ana")
    httpx.post(f"{cli_env.url}/api/rooms/{old}/archive")
    code, out, _ = cli(capsys, "prune", "--archived-older-than", "1")
    assert code == 0 and "deleted 0 archived room(s)" in out
    code, out, _ = cli(capsys, "prune", "--archived-older-than", "0", "--dry-run")
    assert "would delete demo/old" in out
    assert httpx.get(f"{cli_env.url}/api/rooms/{old}").status_code == 200
    code, out, _ = cli(capsys, "prune", "--archived-older-than", "0")
    assert code == 0 and "deleted demo/old" in out and "1 messages" in out
    assert httpx.get(f"{cli_env.url}/api/rooms/{old}").status_code == 404
    names = [r["name"] for r in httpx.get(f"{cli_env.url}/api/rooms").json()["rooms"]]
    assert names == ["live"]


def test_logs_show_the_server_log(
    cli_env: ServerProcess, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "logs", "-n", "5")
    assert code == 0 and "chatnut ready on" in out


def test_commands_without_a_server_say_how_to_start_one(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHATNUT_HOME", str(home))
    code, _, err = cli(capsys, "rooms")
    assert code == 1 and "chatnut serve &" in err
