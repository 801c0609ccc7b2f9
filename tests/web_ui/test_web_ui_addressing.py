"""The composer in a real Chromium: a recipient picker sets `to`; on a phone
the status chips keep their words whole, the name field is not in the
composer, and Enter on a touch keyboard is a new line (Send sends), which the
draft's placeholder and accessible name say in words that fit."""

from __future__ import annotations

import pytest
from mcp import Client
from playwright.async_api import Browser, Page, expect

from tests.helpers import ServerProcess
from tests.web_ui.pages import call, open_room, watched_page

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


# Whether a text box's placeholder fits on one line inside its padding.
PLACEHOLDER_FITS = """box => {
    const style = getComputedStyle(box);
    const pen = document.createElement("canvas").getContext("2d");
    pen.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
    const room = box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    return pen.measureText(box.placeholder).width <= room;
}"""


async def team_room(agent: Client) -> str:
    room = await call(agent, "init_room", project="demo", name="team")
    for name in ("dev", "qa"):
        await call(agent, "register_agent", room_id=room["id"], agent_name=name, task_id="t")
    for name in ("infra", "dev", "qa", "lead"):
        await call(
            agent, "update_status", room_id=room["id"], sender=name, status=f"{name} rolling out v2"
        )
    await call(agent, "post_message", room_id=room["id"], sender="lead", content="plan?")
    return str(room["id"])


async def test_the_recipient_picker_sets_to(
    page: Page, server: ServerProcess, agent: Client
) -> None:
    room = await team_room(agent)
    await open_room(page, server, room)
    await expect(page.locator("li.message", has_text="plan?")).to_be_visible()  # loaded
    picker = page.get_by_role("combobox", name="Send to")
    await picker.focus()
    for name in ("dev", "qa", "lead"):
        await expect(page.locator(f'#to-names option[value="{name}"]')).to_have_count(1)
    await picker.fill("dev, qa")
    draft = page.get_by_role("textbox", name="Message (Enter sends, Shift+Enter for a new line)")
    await expect(draft).to_have_attribute(
        "placeholder", "Message the team — Enter sends, Shift+Enter for a new line"
    )
    await page.locator("#draft").fill("please review")
    await page.locator("#draft").press("Enter")
    sent = page.locator("li.message", has_text="please review")
    await expect(sent.locator(".to")).to_contain_text("dev")
    last = (await call(agent, "read_messages", room_id=room))["messages"][-1]
    assert (last["content"], last["to"]) == ("please review", ["dev", "qa"])
    await expect(picker).to_have_value("")  # addressing is for one message


async def test_on_a_phone_chips_stay_whole_the_name_is_elsewhere_and_enter_is_a_new_line(
    browser: Browser, server: ServerProcess, agent: Client
) -> None:
    room = await team_room(agent)
    phone = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
    async with watched_page(browser, server, **phone) as (page, _):
        await open_room(page, server, room)
        chip = page.locator(".status-chip", has_text="infra")
        await expect(chip).to_be_attached()
        # One line each, at its own width (the bar scrolls): no word broken.
        for height in await page.locator(".status-chip").evaluate_all(
            "cs => cs.map(c => c.getBoundingClientRect().height)"
        ):
            assert height < 30, height
        await expect(page.locator("#composer #sender")).to_have_count(0)
        draft = page.get_by_role("textbox", name="Message (the Send button sends)")
        await expect(draft).to_have_attribute("placeholder", "Message the team")
        assert await draft.evaluate(PLACEHOLDER_FITS), "the placeholder is cut off"
        assert await page.locator("#to").evaluate(PLACEHOLDER_FITS), "the picker's is cut off"
        reply = page.locator("#thread-draft")  # in the thread pane, closed for now
        await expect(reply).to_have_attribute(
            "aria-label", "Reply in the thread (the Reply button sends)"
        )
        await draft.fill("first line")
        await draft.press("Enter")
        await draft.press_sequentially("second line")
        await expect(draft).to_have_value("first line\nsecond line")
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("li.message", has_text="second line")).to_be_visible()
        messages = (await call(agent, "read_messages", room_id=room))["messages"]
        assert messages[-1]["content"] == "first line\nsecond line"
