"""Sign-in links and sessions remember whom they sign in (the admin's key, a person's
token, an admin agent's token), in memory and signed; a signed one cannot be
made to name another token, and signing out refuses it from then on."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from chatnut.sessions_in_memory import ADMIN_KEY, OneTimeLinks, Sessions, Signin
from chatnut.sessions_signed import SignedLinks, SignedSessions

ANN = Signin("tok_0123456789", person=True)
BOSS = Signin("tok_abcdefabcd", person=False)


def _code(url: str) -> str:
    return parse_qs(urlsplit(url).query)["code"][0]


@pytest.mark.parametrize("links", [OneTimeLinks(), SignedLinks("s3cret-token")])
def test_a_link_signs_in_whom_it_was_minted_for_once(links: OneTimeLinks) -> None:
    for holder in (ADMIN_KEY, ANN, BOSS):
        code = _code(links.mint("/", holder))
        assert links.redeem(code) == holder
        assert links.redeem(code) is None  # once only


@pytest.mark.parametrize("sessions", [Sessions(), SignedSessions("s3cret-token")])
def test_a_session_holds_its_holder_until_signed_out(sessions: Sessions) -> None:
    opened = {holder: sessions.open(holder) for holder in (ADMIN_KEY, ANN, BOSS)}
    for holder, session in opened.items():
        assert sessions.holder(session) == holder
    sessions.end(opened[ANN])
    assert sessions.holder(opened[ANN]) is None
    assert sessions.holder(opened[BOSS]) == BOSS
    assert sessions.holder("not-a-session") is None


def test_a_signed_session_cannot_be_made_to_name_another_token() -> None:
    sessions = SignedSessions("s3cret-token")
    session = sessions.open(ANN)
    expires, nonce, held, mac = session.split(".")
    assert held == "ptok_0123456789"  # the token's id, never a secret
    for forged in [
        f"{expires}.{nonce}.p{BOSS.token}.{mac}",  # another token
        f"{expires}.{nonce}.a{ANN.token}.{mac}",  # an admin's page instead of a person's
        f"{expires}.{nonce}.{mac}",  # the admin's key
        f"{expires}.{nonce}.x{ANN.token}.{mac}",  # no such kind
    ]:
        assert sessions.holder(forged) is None, forged
    # Another server's key (another shared token) does not accept it either.
    assert SignedSessions("another-token").holder(session) is None
    # A link code is not a session.
    code = _code(SignedLinks("s3cret-token").mint("/", ANN))
    assert sessions.holder(code) is None
