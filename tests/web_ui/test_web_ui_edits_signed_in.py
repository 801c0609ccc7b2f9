"""Editing and deleting as a person signed in by their own token, in real Chromium:
Edit and Delete on their own principal's messages only, and on everyone's for
an admin; what the page changes is stored as that person's change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers import TOKEN, ServerProcess
from tests.identity import bearer, start_server
from tests.web_ui.pages import watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.browser]


class People:
    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.admin = httpx.Client(base_url=server.url, headers=bearer(TOKEN), timeout=30)
        self.room = self.admin.post("/api/rooms", json={"project": "p", "name": "r"}).json()["id"]
        self.tokens = {name: self._token(name, role) for name, role in PEOPLE}

    def _token(self, name: str, role: str) -> str:
        made = self.admin.post(
            "/api/admin/tokens", json={"name": name, "kind": "person", "role": role}
        )
        assert made.status_code == 200, made.text
        secret: str = made.json()["token"]
        return secret

    def post(self, name: str, content: str) -> int:
        posted = httpx.post(
            f"{self.server.url}/api/rooms/{self.room}/messages",
            json={"sender": name, "content": content},
            headers=bearer(self.tokens[name]),
            timeout=30,
        )
        assert posted.status_code == 200, posted.text
        return int(posted.json()["id"])

    async def sign_in(self, page: Page, name: str) -> None:
        minted = httpx.post(
            f"{self.server.url}/api/signin-link",
            json={"next": f"/?room={self.room}"},
            headers=bearer(self.tokens[name]),
            timeout=30,
        )
        assert minted.status_code == 200, minted.text
        await page.goto(minted.json()["url"])
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")


PEOPLE = (("ann", "member"), ("bob", "member"), ("root", "admin"))


@pytest.fixture(scope="module")
def people(tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    home: Path = tmp_path_factory.mktemp("home")
    server = start_server(home, None)
    made = People(server)
    yield made
    made.admin.close()
    server.stop()


async def test_a_person_changes_their_own_and_an_admin_anyones(
    browser: Browser, people: People
) -> None:
    anns = people.post("ann", "ann's note")
    bobs = people.post("bob", "bob's note")
    async with watched_page(browser, people.server) as (page, _):
        await people.sign_in(page, "ann")
        mine = page.locator(f'#message-list li[data-id="{anns}"]')
        theirs = page.locator(f'#message-list li[data-id="{bobs}"]')
        await expect(mine.locator(f'button[data-edit="{anns}"]')).to_have_count(1)
        await expect(theirs.locator("[data-edit], [data-delete]")).to_have_count(0)
        await mine.hover()
        await mine.locator(f'button[data-edit="{anns}"]').click()
        await mine.locator("textarea").fill("ann's note, fixed")
        await mine.locator("textarea").press("Enter")
        await expect(mine.locator(".body")).to_have_text("ann's note, fixed")
    async with watched_page(browser, people.server) as (page, _):
        await people.sign_in(page, "root")
        theirs = page.locator(f'#message-list li[data-id="{bobs}"]')
        await theirs.hover()
        delete = theirs.locator(f'button[data-delete="{bobs}"]')
        await delete.click()
        await delete.click()
        await expect(theirs.locator(".body")).to_have_text("message deleted")
    stored = people.admin.get(f"/api/rooms/{people.room}/messages").json()["messages"]
    by_id = {m["id"]: m for m in stored}
    assert by_id[anns]["content"] == "ann's note, fixed" and by_id[anns]["principal"] == "ann"
    assert "edited_at" in by_id[anns]
    assert by_id[bobs]["deleted"] is True and by_id[bobs]["content"] == ""
