"""The docs cannot drift: every tool is described in SKILL.md, every route and
every setting in the README, and nothing there that the server does not have."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from mcp import Client

from chatnut.api import router
from chatnut.claims_api import router as claims_router
from chatnut.mcp_tools import build_mcp
from chatnut.settings import SETTINGS
from chatnut.sidebar_api import router as sidebar_router
from chatnut.stream_api import router as stream_router

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SKILL = (ROOT / "skills" / "chatnut" / "SKILL.md").read_text()

pytestmark = pytest.mark.anyio


async def test_skill_md_describes_exactly_the_tools() -> None:
    async with Client(build_mcp(None), mode="legacy") as client:  # type: ignore[arg-type]
        tools = {t.name: t for t in (await client.list_tools()).tools}
    described = set(re.findall(r"^### (\w+)$", SKILL, flags=re.MULTILINE))
    assert described == set(tools)
    for name, tool in tools.items():
        section = SKILL.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        for parameter in tool.input_schema["properties"]:
            assert parameter in section, f"SKILL.md does not describe {name}({parameter})"


async def test_readme_tool_table_lists_exactly_the_tools() -> None:
    async with Client(build_mcp(None), mode="legacy") as client:  # type: ignore[arg-type]
        tools = {t.name for t in (await client.list_tools()).tools}
    listed = set(re.findall(r"^\| `(\w+)\(", README, flags=re.MULTILINE))
    assert listed == tools


def test_skill_md_has_front_matter() -> None:
    assert SKILL.startswith("---\nname: chatnut\ndescription: ")


def test_readme_lists_exactly_the_api_routes() -> None:
    routes = {
        (method, route.path)
        for route in [
            *router.routes,
            *stream_router.routes,
            *sidebar_router.routes,
            *claims_router.routes,
        ]
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    listed = set(
        re.findall(
            r"^\| (GET|POST|PUT|PATCH|DELETE) \| `(/api/[^`]*)` \|", README, flags=re.MULTILINE
        )
    )
    assert listed == routes


def test_readme_lists_every_setting_as_declared() -> None:
    rows = {
        cells[0]: cells
        for line in README.splitlines()
        if line.startswith("| ")
        for cells in [[c.strip() for c in line.strip("|").split("|")]]
    }
    for setting in SETTINGS:
        assert setting.name in rows, setting.name
        flag, env = rows[setting.name][1], rows[setting.name][2]
        if setting.flag:
            assert flag.startswith(f"`{setting.flag}"), setting.name
        for var in setting.env:
            assert f"`{var}`" in env, (setting.name, var)


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:15])
    assert "make serve" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text()
