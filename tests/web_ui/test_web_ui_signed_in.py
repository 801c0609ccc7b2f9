"""A person signed in by their own token, in real Chromium: the composer shows their
name instead of the free field, a post carries that person, sign-out works, a
reader's composer is closed, and a revoked person's page is refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer, start_server
from tests.web_ui.pages import LIVE_WITHIN_MS, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


class Team:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.admin = httpx.Client(base_url=server.url, headers=bearer(TOKEN), timeout=30)
        self.room = self.admin.post("/api/rooms", json={"project": "p", "name": "r"}).json()["id"]

    def token(self, name: str, role: str = "member") -> str:
        made = self.admin.post(
            "/api/admin/tokens", json={"name": name, "kind": "person", "role": role}
        )
        assert made.status_code == 200, made.text
        secret: str = made.json()["token"]
        return secret

    def link(self, token: str) -> str:
        minted = httpx.post(
            f"{self.server.url}/api/signin-link",
            json={"next": f"/?room={self.room}"},
            headers=bearer(token),
            timeout=30,
        )
        assert minted.status_code == 200, minted.text
        url: str = minted.json()["url"]
        return url


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    home: Path = tmp_path_factory.mktemp("home")
    server = start_server(home, None)
    made = Team(server)
    yield made
    made.admin.close()
    server.stop()


async def signed_in(page: Page, team: Team, token: str) -> None:
    await page.goto(team.link(token))
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")


async def test_a_person_posts_under_their_own_name_and_signs_out(
    browser: Browser, team: Team
) -> None:
    token = team.token("ann")
    async with watched_page(browser, team.server) as (page, _):
        await signed_in(page, team, token)
        await expect(page.locator("#whoami-name")).to_have_text("You: ann")
        await expect(page.locator("#sender")).to_be_hidden()
        await expect(page.locator("#sign-out")).to_be_visible()
        await page.fill("#draft", "hello from the page")
        await page.press("#draft", "Enter")
        item = page.locator(".message", has_text="hello from the page")
        await expect(item).to_have_count(1, timeout=LIVE_WITHIN_MS * 5)
        await expect(item.locator(".sender")).to_have_text("ann")
        stored = team.admin.get(f"/api/rooms/{team.room}/messages").json()["messages"]
        mine = [m for m in stored if m["content"] == "hello from the page"]
        assert len(mine) == 1 and mine[0]["sender"] == "ann"
        assert mine[0]["principal"] == "ann" and mine[0]["metadata"] == {"source": "web"}

        await page.click("#sign-out")
        await expect(page).to_have_url(f"{team.server.url}/signed-out.html")
        # The browser's cookie is gone and the session with it.
        refused = await page.request.get(f"{team.server.url}/api/rooms")
        assert refused.status == 401
        await page.goto(f"{team.server.url}/?room={team.room}")
        await expect(page).to_have_url(f"{team.server.url}/signed-out.html")


async def test_a_readers_composer_says_it_only_reads(browser: Browser, team: Team) -> None:
    token = team.token("rita", role="reader")
    async with watched_page(browser, team.server) as (page, _):
        await signed_in(page, team, token)
        await expect(page.locator("#whoami-name")).to_have_text("You: rita (reader)")
        await expect(page.locator("#composer-note")).to_have_text(
            "Read only: rita has the reader role here."
        )
        await expect(page.locator("#draft")).to_be_disabled()
        await expect(page.locator("#send")).to_be_disabled()


async def test_a_revoked_persons_page_is_refused(browser: Browser, team: Team) -> None:
    token = team.token("dan")
    async with watched_page(browser, team.server) as (page, _):
        await signed_in(page, team, token)
        await expect(page.locator("#whoami-name")).to_have_text("You: dan")
        revoked = team.admin.delete("/api/admin/tokens/dan")
        assert revoked.status_code == 200, revoked.text
        # Its open feed is closed at once; every request of the page is refused.
        await expect(page.locator("#conn")).not_to_have_attribute(
            "data-state", "live", timeout=LIVE_WITHIN_MS
        )
        refused = await page.request.get(f"{team.server.url}/api/rooms")
        assert refused.status == 401
        assert "its token revoked" in (await refused.json())["error"]["message"]
        before = team.admin.get(f"/api/rooms/{team.room}/messages").json()["messages"]
        posted = await page.request.post(
            f"{team.server.url}/api/rooms/{team.room}/messages",
            data={"sender": "dan", "content": "after revoke"},
        )
        assert posted.status == 401
        assert team.admin.get(f"/api/rooms/{team.room}/messages").json()["messages"] == before
        # The page notices by itself (its feed refused) and says how to sign in again.
        await expect(page).to_have_url(f"{team.server.url}/signed-out.html", timeout=10_000)
        await expect(page.locator("h1")).to_have_text("Not signed in")


async def test_the_admins_key_keeps_the_free_name_field(browser: Browser, team: Team) -> None:
    async with watched_page(browser, team.server) as (page, _):
        await signed_in(page, team, TOKEN)
        await expect(page.locator("#sender")).to_be_visible()
        await expect(page.locator("#whoami-name")).to_be_hidden()
        await expect(page.locator("#sign-out")).to_be_visible()
