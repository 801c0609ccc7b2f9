"""The docs cannot drift: every tool is described in SKILL.md and listed in the
README, every route in docs/rest-api.md, every subcommand in docs/cli.md,
every setting in docs/configuration.md (written from the settings table), and
nothing there that the server does not have; every link between the pages
leads somewhere."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from mcp import Client

from chatnut.app import create_app
from chatnut.cli import build_parser
from chatnut.mcp_tools import build_mcp
from chatnut.settings import SETTINGS, Settings
from chatnut.settings_doc import render

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
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


def test_rest_api_page_lists_exactly_the_api_routes(tmp_path: Path) -> None:
    """Every /api route of the app as built, whichever router it comes from."""
    app = create_app(Settings(home=tmp_path, update_check=False, open_browser=False))
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/")
        for method in operations
    }
    assert len(routes) > 25
    listed = set(
        re.findall(
            r"^\| (GET|POST|PUT|PATCH|DELETE) \| `(/api/[^`]*)` \|",
            (DOCS / "rest-api.md").read_text(),
            flags=re.MULTILINE,
        )
    )
    assert listed == routes


def test_configuration_page_is_what_the_settings_table_writes() -> None:
    assert (DOCS / "configuration.md").read_text() == render(), (
        "docs/configuration.md is stale: run `make docs`"
    )


def test_configuration_page_lists_every_setting_as_declared() -> None:
    rows = {
        cells[0]: cells
        for line in render().splitlines()
        if line.startswith("| ")
        for cells in [[c.strip() for c in re.split(r"(?<!\\)\|", line.strip("|"))]]
    }
    assert set(rows) - {"setting"} == {s.name for s in SETTINGS}
    for setting in SETTINGS:
        flag, env = rows[setting.name][1], rows[setting.name][2]
        if setting.flag:
            assert flag.startswith(f"`{setting.flag}"), setting.name
        else:
            assert flag == "", setting.name
        for var in setting.env:
            assert f"`{var}`" in env, (setting.name, var)


def subcommands() -> set[str]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return set(actions[0].choices)


def test_cli_page_lists_exactly_the_subcommands() -> None:
    listed = set(
        re.findall(r"^\| `chatnut (\w+)", (DOCS / "cli.md").read_text(), flags=re.MULTILINE)
    )
    assert listed == subcommands()


def test_readme_first_session_commands_parse() -> None:
    block = README.split("A first session, from a fresh clone:", 1)[1].split("```")[1]
    commands = 0
    for line in block.splitlines():
        command = line.split("#", 1)[0].strip().rstrip("&").strip()
        if command.startswith("chatnut "):
            words = re.findall(r'"[^"]*"|\S+', command)[1:]
            build_parser().parse_args([w.strip('"') for w in words])
            commands += 1
    assert commands >= 5


def _anchors(markdown: str) -> set[str]:
    """The ids GitHub gives a page's headings."""
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def _pages() -> list[Path]:
    return [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_every_link_between_the_pages_leads_somewhere(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # http(s) and mailto: not this repository
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text()), f"{page.name}: no #{anchor}"


@pytest.mark.parametrize("page", _pages(), ids=lambda p: p.name)
def test_no_page_has_a_section_twice(page: Path) -> None:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
    headings = re.findall(r"^#+ .+$", text, flags=re.MULTILINE)
    assert len(headings) == len(set(headings)), page.name


def test_no_page_cites_documents_the_reader_does_not_have() -> None:
    for page in [*_pages(), ROOT / "skills" / "chatnut" / "SKILL.md"]:
        text = page.read_text()
        assert not re.search(r"SPEC|§|\bissue \d|\bitem \d", text), page.name


def test_readme_first_screen_has_the_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:15])
    assert "make serve" in first_screen and "make test" in first_screen
    assert "make test" in (ROOT / ".ci" / "run").read_text()
