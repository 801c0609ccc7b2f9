"""A real Chromium for the web UI tests: Debian's `chromium`, driven by playwright.

`playwright install` cannot download here, so the browser is the system's
(`.ci/run` installs it). A missing browser fails the tests — it never skips them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from playwright.async_api import Browser, Page, async_playwright

# Flags for a headless root sandbox on a machine whose network is closed:
# without the background-networking ones Chromium keeps dialling Google.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def chromium_path() -> str:
    path = os.environ.get("CHATNUT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(f"Chromium not found at {path}: install Debian's `chromium` (.ci/run does)")
    return path


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Watched:
    """What a page did besides rendering: every request, every script error, every dialog."""

    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def attach(self, page: Page, *, accept_dialogs: bool = False) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

        async def on_dialog(dialog: object) -> None:
            self.dialogs.append(dialog.message)  # type: ignore[attr-defined]
            if accept_dialogs:
                await dialog.accept()  # type: ignore[attr-defined]
            else:
                await dialog.dismiss()  # type: ignore[attr-defined]

        page.on("dialog", on_dialog)

    def outside(self, base: str) -> list[str]:
        return [url for url in self.requests if not url.startswith(base + "/")]
