"""The one JSON error shape of every HTTP refusal."""

from __future__ import annotations

from typing_extensions import TypedDict


class ErrorDetail(TypedDict):
    code: str  # stable, machine-readable: not_found, invalid_input, room_archived, …
    message: str  # one line a caller can act on


class ErrorBody(TypedDict):
    error: ErrorDetail


# What every /api route declares for its refusals in the OpenAPI document,
# in place of FastAPI's own validation-error shape (which chatnut never sends).
REFUSALS: dict[int | str, dict[str, object]] = {
    "4XX": {"model": ErrorBody, "description": "Refused, in the one JSON error shape"},
    "5XX": {"model": ErrorBody, "description": "Failed, in the one JSON error shape"},
}
