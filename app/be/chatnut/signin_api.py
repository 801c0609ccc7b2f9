"""The browser's sign-in: a one-time link (`/auth/link?code=…&next=…`) trades itself
for the HttpOnly session cookie, then sends the browser on to a page of this server.

Who mints the link decides who the page is. The admin's key (the shared token)
opens a page with a free name field, as always. A person's own token opens a
page that acts as that person only, for as long as that token lives. An admin
agent's token (an unscoped admin principal of kind agent) opens the admin's
page, ended with its token. Any other token has no page: an agent speaks
through its client, not a browser.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from chatnut.errors import Forbidden, error_body
from chatnut.principals import Caller, caller_in
from chatnut.security.auth import caller_of as authenticated
from chatnut.sessions_in_memory import (
    ADMIN_KEY,
    LINK_PATH,
    Signin,
    cookie_header,
    safe_next,
    session_cookie,
)
from chatnut.shapes.admin import PageSession, SignedOut, SigninLink
from chatnut.shapes.errors import REFUSALS

log = logging.getLogger(__name__)
router = APIRouter()


def _refused(message: str) -> JSONResponse:
    return JSONResponse(error_body("link_expired", message), status_code=401)


@router.get(LINK_PATH, include_in_schema=False)
async def redeem_link(request: Request, code: str = "", next: str = "/") -> Response:
    state = request.app.state.chatnut
    if state.settings.token is None:
        # Without a token there is nothing to sign in to.
        return JSONResponse(error_body("not_found", "Not Found"), status_code=404)
    if not code.isascii():
        # Codes are ASCII; anything else was mangled or made up.
        log.info("refused a sign-in code that is not ASCII")
    holder = state.links.redeem(code) if code.isascii() else None
    if holder is None:
        return _refused(
            "this sign-in link was already used or has expired; run `chatnut open` for a new one"
        )
    if (
        holder.token is not None
        and await state.service.tokens_cache.caller_by_id(holder.token, "web") is None
    ):
        return _refused("the token that made this sign-in link was revoked or has expired")
    name = session_cookie(state.settings.public_url)
    cookie = cookie_header(name, state.sessions.open(holder), int(state.sessions.ttl))
    return Response(status_code=303, headers={"location": safe_next(next), "set-cookie": cookie})


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    next: str = Field(default="/", max_length=2000, description="a path of this server")


def _holder(caller: Caller) -> Signin:
    """Whom a link minted by this caller signs in, or the one-line refusal."""
    if caller.principal is None:
        # The admin's key, or a page an admin agent's link opened (ends with its token).
        return ADMIN_KEY if caller.token is None else Signin(caller.token, person=False)
    if caller.kind == "person":
        if caller.projects is not None and len(caller.projects) > 1:
            # The page's sidebar and search are counted by the database one project
            # at a time for a scoped caller: with several it could show none of them.
            raise Forbidden(
                f"the web page shows a scoped person one project; {caller.principal}'s token"
                f" is scoped to {', '.join(sorted(caller.projects))}: give them a token"
                " with one --project (or none)"
            )
        return Signin(caller.token, person=True)
    if caller.role == "admin" and not caller.scoped:
        return Signin(caller.token, person=False)
    raise Forbidden(
        "a sign-in link is for a person's token (or an admin's); this token is"
        f" {caller.principal}'s (an agent, {caller.role}{', scoped' if caller.scoped else ''})"
    )


@router.post(
    "/api/signin-link", summary="A one-time sign-in link for the web page", responses=REFUSALS
)
async def signin_link(request: Request, body: LinkRequest) -> SigninLink:
    """What `chatnut open` prints: a link that signs a browser in once (10 minutes).
    A person's token signs that person in; the admin's key opens the page with a free
    name field."""
    holder = _holder(caller_in(request.scope))
    return {"url": request.app.state.chatnut.signin_url(safe_next(body.next), holder)}


@router.get("/api/session", summary="Who the page is signed in as", responses=REFUSALS)
async def session(request: Request) -> PageSession:
    caller = caller_in(request.scope)
    return {
        "name": caller.principal,
        "role": caller.role,
        "projects": None if caller.projects is None else sorted(caller.projects),
        "can_post": caller.role != "reader",
        "session": authenticated(request.scope).how == "session",
    }


@router.post(
    "/api/signout",
    summary="End this browser's session and drop its cookie",
    # Answered with the cookie cleared, so as a response of its own: this is its body.
    response_model=SignedOut,
    responses=REFUSALS,
)
async def signout(request: Request) -> Response:
    state = request.app.state.chatnut
    name = session_cookie(state.settings.public_url)
    value = request.cookies.get(name)
    if value is not None and value.isascii():
        state.sessions.end(value)
    cleared = cookie_header(name, "", 0)
    return JSONResponse({"signed_out": value is not None}, headers={"set-cookie": cleared})
