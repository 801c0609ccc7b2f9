"""The browser's sign-in: a one-time link (`/auth/link?code=…&next=…`) trades itself
for the HttpOnly session cookie, then sends the browser on to a page of this server."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from chatnut.errors import Forbidden, error_body
from chatnut.principals import caller_in
from chatnut.sessions_in_memory import LINK_PATH, cookie_header, safe_next, session_cookie
from chatnut.shapes.admin import SigninLink
from chatnut.shapes.errors import REFUSALS

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
    name = session_cookie(state.settings.public_url)
    cookie = cookie_header(name, state.sessions.open(), int(state.sessions.ttl))
    return Response(status_code=303, headers={"location": safe_next(next), "set-cookie": cookie})


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    next: str = Field(default="/", max_length=2000, description="a path of this server")


@router.post(
    "/api/signin-link", summary="A one-time sign-in link for the web page", responses=REFUSALS
)
async def signin_link(request: Request, body: LinkRequest) -> SigninLink:
    """What `chatnut open` prints: a link that signs a browser in once (10 minutes).
    The session it opens has the admin's rights, so only the admin's keys mint one:
    the shared token, or an admin principal's that is scoped to no project."""
    caller = caller_in(request.scope)
    if caller.principal is not None and (caller.role != "admin" or caller.scoped):
        raise Forbidden(
            "a sign-in link opens the web page with the admin's rights; this token is"
            f" {caller.principal}'s ({caller.role}{', scoped' if caller.scoped else ''})"
        )
    return {"url": request.app.state.chatnut.signin_url(safe_next(body.next))}
