"""`chatnut guard install|uninstall`: the pre-commit hook that checks claims.

The hook is chained, never a replacement: a pre-commit hook already there is
moved aside to `pre-commit.chatnut-chained` and run first (its refusal stands),
and `uninstall` puts it back exactly as it was. The hooks directory is git's
own answer (`git rev-parse --git-path hooks`, so `core.hooksPath` is
honoured). The hook is a few lines of sh that runs guard/hook.py with this
Python; if either has gone (chatnut uninstalled, the venv moved) it says so
and lets the commit through. No token is ever written into it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from chatnut import validation as check
from chatnut.client.endpoint import CliError
from chatnut.errors import InvalidInput
from chatnut.guard import hook

HOOK = "pre-commit"
CHAINED = "pre-commit.chatnut-chained"
MARK = "# chatnut guard:"

TEMPLATE = """#!/bin/sh
{mark} refuses a commit touching files another agent claims exclusively in
# project {project_shown} (written by `chatnut guard install`; `chatnut guard uninstall`
# removes it and puts back the hook that was here). CHATNUT_GUARD=off skips it.
hooks=${{0%/*}}
if [ -x "$hooks/{chained}" ]; then
    "$hooks/{chained}" "$@" || exit $?
fi
[ "$CHATNUT_GUARD" = off ] && exit 0
python={python}
script={script}
if [ ! -x "$python" ] || [ ! -f "$script" ]; then
    echo "chatnut guard: $python or $script is gone; run chatnut guard install again." \\
        "Committing anyway." >&2
    exit 0
fi
git diff --cached --name-only -z --no-renames | exec "$python" -I -S "$script" {arguments}
"""


def _git(repo: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise CliError("git is not on PATH") from None
    if done.returncode != 0:
        raise CliError(f"{repo} is not inside a git work tree ({done.stderr.strip()})")
    return done.stdout.strip()


def hooks_dir(repo: Path) -> Path:
    found = Path(_git(repo, "rev-parse", "--git-path", "hooks"))
    return found if found.is_absolute() else (repo / found).resolve()


def _is_ours(path: Path) -> bool:
    if path.is_symlink() or not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        return MARK in handle.read(4096)


def _write_hook(path: Path, text: str) -> None:
    """Create the hook new (0755), never through a link someone left there."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o755)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o755)  # whatever the umask says: git runs only executable hooks


def install(repo: Path, agent: str | None, project: str | None, url: str | None) -> str:
    try:
        agent = None if agent is None else check.agent_name(agent)
        if project is None:
            project = Path(_git(repo, "rev-parse", "--show-toplevel")).name
        project = check.text("--project", project, max_chars=check.MAX_NAME).strip()
    except InvalidInput as exc:
        raise CliError(exc.message) from None
    if url is not None and not url.startswith(("http://", "https://")):
        raise CliError(f"--url {url!r} must start with http:// or https://")
    hooks = hooks_dir(repo)
    hooks.mkdir(parents=True, exist_ok=True)
    target, chained = hooks / HOOK, hooks / CHAINED
    arguments = ["--project", project]
    arguments += ["--agent", agent] if agent else []
    arguments += ["--url", url] if url else []
    text = TEMPLATE.format(
        mark=MARK,
        project_shown=" ".join(repr(project).split()),
        chained=CHAINED,
        python=shlex.quote(sys.executable),
        script=shlex.quote(hook.__file__),
        arguments=" ".join(shlex.quote(a) for a in arguments),
    )
    kept = ""
    if _is_ours(target):
        target.unlink()  # a reinstall: new settings, the chained hook stays
    elif target.exists() or target.is_symlink():
        if chained.exists() or chained.is_symlink():
            raise CliError(
                f"{chained} already exists beside a pre-commit hook that is not chatnut's;"
                " move one of them away first"
            )
        os.rename(target, chained)  # a link is moved as a link, never followed
        kept = f"; the hook that was there runs first ({chained.name})"
    _write_hook(target, text)
    who = f" for {agent}" if agent else " (every exclusive claim counts: no --agent)"
    return f"chatnut guard installed in {target}{who}, project {project!r}{kept}"


def uninstall(repo: Path) -> str:
    hooks = hooks_dir(repo)
    target, chained = hooks / HOOK, hooks / CHAINED
    if not _is_ours(target):
        if target.exists() or target.is_symlink():
            raise CliError(f"{target} is not chatnut's guard; left as it is")
        return f"no chatnut guard in {hooks}"
    target.unlink()
    if chained.exists() or chained.is_symlink():
        os.rename(chained, target)
        return f"chatnut guard removed; {target} is the hook that was there before"
    return f"chatnut guard removed from {hooks}"
