"""The browser's sign-in: a one-time link (`/auth/link?code=…&next=…`) trades itself
for the HttpOnly session cookie, then sends the browser on to a page of this server."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from chatnut.errors import error_body
from chatnut.signin import LINK_PATH, SESSION_COOKIE, safe_next

log = logging.getLogger(__name__)
router = APIRouter()


@router.get(LINK_PATH, include_in_schema=False)
async def redeem_link(request: Request, code: str = "", next: str = "/") -> Response:
    state = request.app.state.chatnut
    if state.settings.token is None:
        # Without a token there is nothing to sign in to.
        return JSONResponse(error_body("not_found", "Not Found"), status_code=404)
    if not code.isascii():
        # Codes are ASCII; anything else was mangled or made up.
        log.info("refused a sign-in code that is not ASCII")
    if not code.isascii() or not state.links.redeem(code):
        return JSONResponse(
            error_body(
                "link_expired",
                "this sign-in link was already used or has expired;"
                " run `chatnut open` for a new one",
            ),
            status_code=401,
        )
    cookie = (
        f"{SESSION_COOKIE}={state.sessions.open()}; HttpOnly; SameSite=Strict; Path=/;"
        f" Max-Age={int(state.sessions.ttl)}"
    )
    return Response(status_code=303, headers={"location": safe_next(next), "set-cookie": cookie})
