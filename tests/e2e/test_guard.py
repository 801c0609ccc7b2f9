"""The git guard with a real git repository, the real `chatnut` command and the real server.

Commits are made with `git commit`, so the hook runs exactly as it runs for
a user: from the hooks directory git chooses, with git's environment.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from chatnut.guard import hook
from tests.helpers import TOKEN, ServerProcess

pytestmark = [pytest.mark.e2e, pytest.mark.both_backends]


def git(
    repo: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False, timeout=60
    )


def make_repo(path: Path) -> Path:
    path.mkdir()
    for args in (
        ["init", "-q", "-b", "main"],
        ["config", "user.email", "t@example.com"],
        ["config", "user.name", "T"],
        ["commit", "-q", "--allow-empty", "-m", "start"],
    ):
        assert git(path, *args).returncode == 0
    return path


def chatnut(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "chatnut", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def commit(repo: Path, env: dict[str, str], *files: str) -> subprocess.CompletedProcess[str]:
    for name in files:
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{name} {os.urandom(4).hex()}\n")
    assert git(repo, "add", *files).returncode == 0
    return git(repo, "commit", "-q", "-m", "change", env=env)


def environment(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATNUT_")}
    return {**env, "CHATNUT_HOME": str(home), **extra}


def claim(server: ServerProcess, room: str, who: str, paths: list[str], **extra: object) -> dict:
    answer = httpx.post(
        f"{server.url}/api/rooms/{room}/claims",
        json={"agent_name": who, "paths": paths, **extra},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    made: dict = answer.json()
    return made


def test_the_guard_refuses_commits_on_anothers_claim(server: ServerProcess, tmp_path: Path) -> None:
    room = httpx.post(f"{server.url}/api/rooms", json={"project": "demo", "name": "work"}).json()
    made = claim(server, room["id"], "alice", ["src/**"], note="moving the parser")
    assert made["granted"]
    expires = httpx.get(f"{server.url}/api/claims?project=demo").json()["claims"][0]["expires_at"]
    repo = make_repo(tmp_path / "repo")
    env = environment(server.home)
    installed = chatnut(repo, env, "guard", "install", "--agent", "bob", "--project", "demo")
    assert installed.returncode == 0, installed.stderr
    assert "chatnut guard installed" in installed.stdout

    refused = commit(repo, env, "src/a.py", "README.md")
    assert refused.returncode != 0
    assert f"alice holds src/** until {expires} — moving the parser" in refused.stderr
    assert "staged: src/a.py" in refused.stderr and "README.md" not in refused.stderr
    assert "CHATNUT_GUARD=off" in refused.stderr
    assert git(repo, "log", "--format=%s").stdout.split("\n")[0] == "start"  # nothing committed

    assert git(repo, "commit", "-q", "-m", "x", env={**env, "CHATNUT_GUARD": "off"}).returncode == 0
    assert commit(repo, env, "docs/x.md").returncode == 0  # not claimed
    mine = commit(repo, {**env, "CHATNUT_AGENT": "alice"}, "src/b.py")
    assert mine.returncode == 0, mine.stderr  # her own claim is not in her way

    # A deletion touches the file too.
    assert git(repo, "rm", "-q", "src/b.py").returncode == 0
    assert git(repo, "commit", "-q", "-m", "rm", env=env).returncode != 0
    httpx.post(f"{server.url}/api/rooms/{room['id']}/claims/release", json={"agent_name": "alice"})
    assert git(repo, "commit", "-q", "-m", "rm", env=env).returncode == 0


@pytest.mark.sqlite_only
def test_a_big_commit_is_refused_once(server: ServerProcess, tmp_path: Path) -> None:
    room = httpx.post(f"{server.url}/api/rooms", json={"project": "demo", "name": "big"}).json()
    assert claim(server, room["id"], "alice", ["gen/z*"])["granted"]
    repo = make_repo(tmp_path / "repo")
    env = environment(server.home)
    assert chatnut(repo, env, "guard", "install", "--project", "demo").returncode == 0
    names = [f"gen/{prefix}{n:04d}.txt" for prefix in "az" for n in range(1500)]
    for name in names:
        (repo / "gen").mkdir(exist_ok=True)
        (repo / name).write_text(name)
    assert git(repo, "add", "gen").returncode == 0
    refused = git(repo, "commit", "-q", "-m", "big", env=env)
    assert refused.returncode != 0
    assert refused.stderr.count("chatnut guard: this commit touches") == 1
    assert refused.stderr.count("CHATNUT_GUARD=off") == 1
    assert refused.stderr.count("alice holds gen/z*") == 1
    files = ", ".join(f"gen/z{n:04d}.txt" for n in range(5))
    assert f"staged: {files} (+1495 more)\n" in refused.stderr


def test_parts_stay_under_the_servers_limits() -> None:
    paths = [f"src/{n:05d}/" + "x" * 40 for n in range(12_000)]
    parts = hook._parts(paths)
    assert [p for part in parts for p in part] == paths
    assert all(len(part) <= 5000 for part in parts)
    assert all(len(hook.request_body("demo", "bob", part)) < 384 * 1024 for part in parts)


def test_the_request_body_is_the_json_the_server_reads() -> None:
    odd = ['a"b', "c\\d", "tab\there", "é/ü", "\x7f"]
    assert json.loads(hook.request_body("p 'q'", None, odd)) == {
        "project": "p 'q'",
        "agent_name": None,
        "paths": odd,
    }


@pytest.mark.sqlite_only
def test_an_unreachable_server_warns_once_and_lets_the_commit_through(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    home = tmp_path / "home"
    home.mkdir()
    with_port = environment(home)
    (home / "server.port").write_text("9\n")  # nothing listens on the discard port
    assert chatnut(repo, with_port, "guard", "install").returncode == 0
    done = commit(repo, with_port, "a.py")
    assert done.returncode == 0
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("chatnut guard: claims not checked: no chatnut server answers at")
    assert line.endswith("committing anyway")


@pytest.mark.sqlite_only
def test_an_existing_hook_is_chained_and_restored(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    env = environment(tmp_path, CHATNUT_URL="http://127.0.0.1:9")
    hooks = repo / ".git" / "hooks"
    original = '#!/bin/sh\necho ran >> "$(git rev-parse --git-dir)/ran"\nexit ${FAIL:-0}\n'
    (hooks / "pre-commit").write_text(original)
    (hooks / "pre-commit").chmod(0o750)

    for _ in range(2):  # installing again changes nothing more
        installed = chatnut(repo, env, "guard", "install", "--agent", "bob")
        assert installed.returncode == 0, installed.stderr
    assert (hooks / "pre-commit.chatnut-chained").read_text() == original
    assert "project 'repo'" in installed.stdout  # the repository's name by default

    done = commit(repo, env, "a.py")
    assert done.returncode == 0 and "claims not checked" in done.stderr  # the guard ran...
    assert (repo / ".git" / "ran").read_text() == "ran\n"  # ...after the hook that was there
    refused = commit(repo, {**env, "FAIL": "3"}, "b.py")
    assert refused.returncode != 0 and "claims not checked" not in refused.stderr

    removed = chatnut(repo, env, "guard", "uninstall")
    assert removed.returncode == 0 and "the hook that was there before" in removed.stdout
    assert (hooks / "pre-commit").read_text() == original
    assert stat.S_IMODE((hooks / "pre-commit").stat().st_mode) == 0o750
    assert not (hooks / "pre-commit.chatnut-chained").exists()
    again = chatnut(repo, env, "guard", "uninstall")
    assert again.returncode == 1 and "is not chatnut's guard; left as it is" in again.stderr
    assert (hooks / "pre-commit").read_text() == original


@pytest.mark.sqlite_only
def test_the_hooks_path_git_chooses_is_used(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    assert git(repo, "config", "core.hooksPath", "githooks").returncode == 0
    env = environment(tmp_path, CHATNUT_URL="http://127.0.0.1:9")
    assert chatnut(repo, env, "guard", "install").returncode == 0
    assert (repo / "githooks" / "pre-commit").exists()
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()
    assert "claims not checked" in commit(repo, env, "a.py").stderr
    assert chatnut(repo, env, "guard", "uninstall").returncode == 0
    assert not (repo / "githooks" / "pre-commit").exists()


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--agent", "a b"], "agent_name 'a b' can only hold"),
        (["--project", " "], "--project must not be empty"),
        (["--url", "ftp://x"], "must start with http:// or https://"),
    ],
)
def test_bad_installs_are_refused_in_one_line_with_nothing_written(
    tmp_path: Path, args: list[str], words: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    done = chatnut(repo, environment(tmp_path), "guard", "install", *args)
    assert done.returncode == 1 and words in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (repo / ".git" / "hooks" / "pre-commit").exists()


@pytest.mark.sqlite_only
def test_outside_a_repository_the_guard_says_so(tmp_path: Path) -> None:
    done = chatnut(tmp_path, environment(tmp_path), "guard", "install")
    assert done.returncode == 1 and "is not inside a git work tree" in done.stderr


@pytest.mark.sqlite_only
def test_the_guard_sends_the_token_and_fails_open_without_it(
    token_server: ServerProcess, tmp_path: Path
) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    base = token_server.url
    room = httpx.post(f"{base}/api/rooms", json={"project": "demo", "name": "t"}, headers=auth)
    made = httpx.post(
        f"{base}/api/rooms/{room.json()['id']}/claims",
        json={"agent_name": "alice", "paths": ["src/"]},
        headers=auth,
    )
    assert made.json()["granted"]
    repo = make_repo(tmp_path / "repo")
    env = environment(token_server.home, CHATNUT_TOKEN=TOKEN)
    assert chatnut(repo, env, "guard", "install", "--project", "demo").returncode == 0
    hook = (repo / ".git" / "hooks" / "pre-commit").read_text()
    assert TOKEN not in hook
    refused = commit(repo, env, "src/a.py")
    assert refused.returncode != 0 and "alice holds src/ until" in refused.stderr
    without = {k: v for k, v in env.items() if k != "CHATNUT_TOKEN"}
    done = git(repo, "commit", "-q", "-m", "x", env=without)
    assert done.returncode == 0
    (line,) = done.stderr.strip().splitlines()
    assert "claims not checked" in line and "refused the question" in line
