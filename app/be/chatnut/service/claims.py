"""Claims on files and tasks: who is editing what, project-wide, for how long.

A claim belongs to a project (every room of the project sees it), holds
git-style path patterns (globs.py), a task, or both, and expires on its own.
The one rule: an exclusive claim is not granted while another holder has a
live exclusive claim that overlaps it — a pattern that some path could match
on both sides, or the same task (case-insensitive). A shared claim
(`exclusive=false`) is always granted and never blocks anyone; it is told of
the exclusive claims it overlaps. Claiming the same paths and task again
renews the claim. The check and the write are one atomic step in the store.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from chatnut import validation as check
from chatnut.errors import InvalidInput
from chatnut.globs import Glob, GlobError, any_overlap, parse
from chatnut.principals import ANYONE, Caller
from chatnut.service.common import NO_PROJECT
from chatnut.service.team import TeamRules
from chatnut.shapes.claims import (
    Claim,
    Claimed,
    Claims,
    Conflict,
    FileConflict,
    PathConflicts,
    Released,
)
from chatnut.shapes.team import TeamStatus
from chatnut.store.claim_rows import Judge

MAX_CLAIM_PATHS = 64
MAX_TTL_S = 86_400  # a day: a claim is for a stretch of work, renewed while it goes on
MAX_NOTE = 500
MAX_LIVE_CLAIMS = 200  # per project: bounds the work of every overlap check
MAX_SHOWN = 50  # claims beside a team's statuses; list_claims has them all
MAX_LISTED = 1000
# What the git guard may ask about at once (it sends a big commit in parts).
MAX_CHECKED_PATHS = 5000
MAX_CHECKED_PATH_CHARS = 4096
MAX_FILES_SHOWN = 20


@lru_cache(maxsize=4096)
def _parsed(pattern: str) -> Glob:
    return parse(pattern)


@lru_cache(maxsize=1024)
def _matcher(patterns: tuple[str, ...]) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """A claim's patterns as their literal prefixes (a cheap first test) and one
    expression: a 1 000-file commit costs a pass of `startswith` per claim."""
    globs = [_parsed(p) for p in patterns]
    joined = re.compile("|".join(f"(?:{g.regex.pattern})" for g in globs))
    return tuple(g.prefix for g in globs), joined


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _patterns(name: str, value: Any, *, allow_empty: bool) -> list[str]:
    """Valid patterns as written (blanks trimmed), each once, sorted."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(p, str) for p in items):
        raise InvalidInput(f"{name} must be a list of path patterns (strings)")
    if len(items) > MAX_CLAIM_PATHS:
        raise InvalidInput(f"{name} has {len(items)} patterns; the limit is {MAX_CLAIM_PATHS}")
    if not items and not allow_empty:
        raise InvalidInput(f"{name} is empty; leave it out to release whole claims")
    try:
        return sorted({_parsed(p.strip()).text for p in items})
    except GlobError as exc:
        raise InvalidInput(f"{name}: {exc}") from None


def _file_path(value: Any) -> None:
    """What check.text says of a text, in C loops: the guard sends a thousand at once."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("paths must hold non-empty strings (file paths)")
    if len(value) > MAX_CHECKED_PATH_CHARS:
        raise InvalidInput(
            f"a path is {len(value)} characters; the limit is {MAX_CHECKED_PATH_CHARS}"
        )
    if "\x00" in value:
        raise InvalidInput("paths: a path contains a NUL byte")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidInput("paths: a path contains a lone surrogate") from None


def _task(value: Any) -> str | None:
    if value is None:
        return None
    return check.text("task", value, max_chars=check.MAX_NAME).strip()


def conflict(row: Claim) -> Conflict:
    return {
        "holder": row["holder"],
        "paths": row["paths"],
        "task": row["task"],
        "expires_at": row["expires_at"],
        "note": row["note"],
    }


def _judge(holder: str, patterns: list[str], task: str | None, exclusive: bool) -> Judge:
    mine = [_parsed(p) for p in patterns]
    task_key = None if task is None else task.casefold()

    def judge(rows: list[Claim]) -> tuple[list[Conflict], bool]:
        found = []
        for row in rows:
            if row["holder"] == holder or not row["exclusive"]:
                continue
            same_task = task_key is not None and (row["task"] or "").casefold() == task_key
            if same_task or any_overlap(mine, [_parsed(p) for p in row["paths"]]):
                found.append(conflict(row))
        return found, exclusive and bool(found)

    return judge


class ClaimRules(TeamRules):
    async def get_team_status(self, room_id: str, *, caller: Caller = ANYONE) -> TeamStatus:
        """The statuses, and the project's live claims when there are any."""
        result = await super().get_team_status(room_id, caller=caller)
        claims = await self.project_claims((await self.require_room(room_id))["project"])
        if claims:
            result["claims"] = claims
        return result

    async def claim(
        self,
        room_id: str,
        agent_name: str,
        paths: Any,
        task: str | None = None,
        ttl_s: int = 900,
        exclusive: bool = True,
        note: str | None = None,
        *,
        caller: Caller = ANYONE,
    ) -> Claimed:
        check.room_id(room_id)
        holder = check.agent_name(agent_name)
        caller.needs("member", "claiming")
        caller.acting_as(holder)
        await self.in_scope(room_id, caller)
        patterns = _patterns("paths", paths, allow_empty=True)
        task = _task(task)
        if not patterns and not task:
            raise InvalidInput("a claim needs paths, a task, or both")
        ttl = check.integer("ttl_s", ttl_s, minimum=1, maximum=MAX_TTL_S)
        if not isinstance(exclusive, bool):
            raise InvalidInput(f"exclusive must be true or false, got {exclusive!r}")
        note = check.optional_text("note", note, max_chars=MAX_NOTE)
        now = datetime.now(UTC)
        claim = {
            "claim_id": uuid.uuid4().hex,
            "holder": holder,
            "paths": patterns,
            "task": task or None,
            "exclusive": exclusive,
            "note": note,
            "room_id": room_id,
            "created_at": _iso(now),
            "expires_at": _iso(now + timedelta(seconds=ttl)),
        }
        judge = _judge(holder, patterns, task or None, exclusive)
        result = await self.store.claim(claim, judge, MAX_LIVE_CLAIMS)
        self.seen(room_id, holder)
        return {
            "claim_id": result["claim_id"],
            "granted": result["granted"],
            "conflicts": result["conflicts"],
        }

    async def release(
        self,
        room_id: str,
        agent_name: str,
        claim_id: str | None = None,
        paths: Any = None,
        *,
        caller: Caller = ANYONE,
    ) -> Released:
        check.room_id(room_id)
        holder = check.agent_name(agent_name)
        caller.needs("member", "releasing claims")
        caller.acting_as(holder)
        await self.in_scope(room_id, caller)
        if claim_id is not None:
            claim_id = check.text("claim_id", claim_id, max_chars=64).strip()
        patterns = None if paths is None else _patterns("paths", paths, allow_empty=False)
        result = await self.store.release_claims(
            room_id, holder, claim_id, patterns, _iso(datetime.now(UTC))
        )
        self.seen(room_id, holder)
        return result

    async def list_claims(
        self, room_id: str | None = None, project: str | None = None, *, caller: Caller = ANYONE
    ) -> Claims:
        check.optional_text("project", project, max_chars=check.MAX_NAME)
        if room_id is None and caller.scoped:  # only its projects' claims exist for it
            if project is None:
                return {"claims": await self._scoped_claims(caller)}
            if not caller.sees(project):
                return {"claims": []}
        if room_id is not None:
            await self.in_scope(room_id, caller)
            room = await self.require_room(room_id)
            if project is not None and project != room["project"]:
                raise InvalidInput(
                    f"room {room_id!r} is in project {room['project']!r}, not {project!r}"
                )
            project = room["project"]
        return {"claims": await self.project_claims(project, MAX_LISTED)}

    async def _scoped_claims(self, caller: Caller) -> list[Claim]:
        found: list[Claim] = []
        for project in sorted(caller.projects or ()):
            found += await self.project_claims(project, MAX_LISTED)
        return found

    async def project_claims(self, project: str | None, limit: int = MAX_SHOWN) -> list[Claim]:
        return await self.store.live_claims(project, _iso(datetime.now(UTC)), limit)

    async def check_paths(
        self,
        project: str,
        agent_name: str | None,
        paths: Sequence[Any],
        *,
        caller: Caller = ANYONE,
    ) -> PathConflicts:
        """The git guard's question: which of these files (relative to the repository
        root) fall under another holder's live exclusive claim in the project."""
        project = check.text("project", project, max_chars=check.MAX_NAME)
        if not caller.sees(project):
            project = NO_PROJECT  # another project's claims do not exist for it
        me = None if agent_name is None else check.agent_name(agent_name)
        if not isinstance(paths, list) or len(paths) > MAX_CHECKED_PATHS:
            raise InvalidInput(f"paths must be a list of at most {MAX_CHECKED_PATHS} file paths")
        for path in paths:
            _file_path(path)
        claims = await self.store.live_claims(project, _iso(datetime.now(UTC)), MAX_LIVE_CLAIMS + 1)
        candidates = [p.strip("/") + "/" for p in paths]  # as Glob.regex reads a path
        conflicts: list[FileConflict] = []
        for row in claims:
            if not row["exclusive"] or row["holder"] == me or not row["paths"]:
                continue
            prefixes, joined = _matcher(tuple(row["paths"]))
            files = [p for p in candidates if p.startswith(prefixes) and joined.fullmatch(p)]
            if files:
                shown = [f[:-1] for f in files[:MAX_FILES_SHOWN]]
                conflicts.append({**conflict(row), "files": shown, "file_count": len(files)})
        return {"project": project, "conflicts": conflicts}
