"""Claim rows as every store hands them out, and the bookkeeping both backends share.

The rules (what overlaps, what blocks) are the service's: a store hands the
project's live claims to the service's `Judge` inside its write, so the check
and the insert are one atomic step on either backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from chatnut.shapes.claims import Claim, Conflict

Row = dict[str, Any]
CLAIM_COLUMNS = "id, project, holder, paths, task, exclusive, note, room_id, created_at, expires_at"
# Given the project's live claims, the ones in the way of a new claim and
# whether they block it.
Judge = Callable[[list[Claim]], tuple[list[Conflict], bool]]


def claim_dict(row: Any) -> Claim:
    return {
        "claim_id": row["id"],
        "project": row["project"],
        "holder": row["holder"],
        "paths": json.loads(row["paths"]),
        "task": row["task"],
        "exclusive": bool(row["exclusive"]),
        "note": row["note"],
        "room_id": row["room_id"],
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
    }


def stored_claim(claim: Row, project: str) -> Claim:
    """A new claim (as the service made it) once stored in `project`."""
    return {
        "claim_id": claim["claim_id"],
        "project": project,
        "holder": claim["holder"],
        "paths": claim["paths"],
        "task": claim["task"],
        "exclusive": claim["exclusive"],
        "note": claim["note"],
        "room_id": claim["room_id"],
        "created_at": claim["created_at"],
        "expires_at": claim["expires_at"],
    }


def column_values(claim: Row, project: str) -> tuple[Any, ...]:
    """A new claim's values, in CLAIM_COLUMNS order."""
    return (
        claim["claim_id"],
        project,
        claim["holder"],
        json.dumps(claim["paths"], ensure_ascii=False),
        claim["task"],
        int(claim["exclusive"]),
        claim["note"],
        claim["room_id"],
        claim["created_at"],
        claim["expires_at"],
    )


def _task_key(task: str | None) -> str | None:
    return None if task is None else task.casefold()


def renewed(rows: list[Claim], claim: Row) -> Claim | None:
    """The holder's live claim that `claim` renews: same paths, same task."""
    for row in rows:
        if (
            row["holder"] == claim["holder"]
            and row["paths"] == claim["paths"]
            and _task_key(row["task"]) == _task_key(claim["task"])
        ):
            return row
    return None


def release_plan(
    rows: list[Claim], holder: str, claim_id: str | None, paths: Sequence[str] | None
) -> tuple[list[str], dict[str, list[str]]]:
    """What a release does to the holder's live claims `rows` (one claim when
    claim_id is given): the ids to delete, and the ids that keep fewer paths.

    Without paths, the claims go whole; with paths, those patterns (as written)
    leave them, and a claim left with neither paths nor task goes.
    """
    mine = [r for r in rows if r["holder"] == holder and claim_id in (None, r["claim_id"])]
    if paths is None:
        return [r["claim_id"] for r in mine], {}
    gone, kept = [], {}
    for row in mine:
        left = [p for p in row["paths"] if p not in paths]
        if left == row["paths"]:
            continue
        if left or row["task"] is not None:
            kept[row["claim_id"]] = left
        else:
            gone.append(row["claim_id"])
    return gone, kept
