"""The page's Markdown renderer: what it lets through is safe to insert as HTML."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chatnut.render import _RenderCache, code_css, render_markdown, with_html

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "hostile",
    [
        "<img src=x onerror=alert(1)>",
        "<script>alert(1)</script>",
        "<iframe src=//evil></iframe>",
        '<a href="javascript:alert(1)">x</a>',
        "<svg onload=alert(1)>",
        "<style>body{display:none}</style>",
    ],
)
def test_raw_html_is_shown_as_text(hostile: str) -> None:
    html = render_markdown(hostile)
    assert "<" + hostile[1:] not in html
    assert re.search(r"<(img|script|iframe|svg|style)\b", html) is None
    assert "&lt;" in html


@pytest.mark.parametrize(
    "link",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "data:text/html,<b>x</b>",
        "data:image/png;base64,AAAA",
        "vbscript:msgbox",
        "file:///etc/passwd",
        "chrome://settings",
    ],
)
def test_dangerous_links_stay_dead_text(link: str) -> None:
    html = render_markdown(f"[click]({link}) and <{link}>")
    assert "href" not in html


def test_safe_links_open_apart_and_images_become_links() -> None:
    html = render_markdown(
        "[docs](https://example.com/a?b=1) [room](/?room=r1) ![logo](https://cdn.example/x.png)"
    )
    assert (
        '<a href="https://example.com/a?b=1" rel="noopener noreferrer nofollow"'
        ' target="_blank">docs</a>' in html
    )
    assert 'href="/?room=r1"' in html
    assert "<img" not in html  # the page never fetches anything outside the server
    assert 'href="https://cdn.example/x.png"' in html and "[image: logo]" in html


def test_fenced_code_is_highlighted_with_classes_and_escaped() -> None:
    html = render_markdown('```python\nif a < b: print("<b>")\n```')
    assert html.startswith('<pre class="hl"><code data-lang="Python">')
    assert '<span class="k">if</span>' in html
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "style=" not in html  # classes only: the page's CSP forbids inline styles


def test_unknown_language_and_plain_fences_are_escaped_text() -> None:
    html = render_markdown("```nosuchlang\n<b>x</b>\n```")
    assert html == '<pre><code class="language-nosuchlang">&lt;b&gt;x&lt;/b&gt;\n</code></pre>\n'


def test_tables_lists_and_line_breaks() -> None:
    html = render_markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\nline\nnext")
    assert "<table>" in html and "<td>1</td>" in html
    assert "<li>one</li>" in html
    assert "line<br>\nnext" in html


def test_rendering_adds_html_and_never_changes_the_message() -> None:
    message = {"id": 1, "content": "**hi**", "sender": "a"}
    shown = with_html(message)
    assert shown["html"] == "<p><strong>hi</strong></p>\n"
    assert message == {"id": 1, "content": "**hi**", "sender": "a"}


def test_the_shipped_code_stylesheet_is_the_renderers() -> None:
    # app/fe/code.css is `python -m chatnut.render`'s output; they must not drift.
    assert (ROOT / "app/fe/code.css").read_text() == code_css() + "\n"


def test_the_render_cache_is_bounded_by_size_and_evicts_the_least_recent() -> None:
    cache = _RenderCache(budget_chars=100)
    cache.put("a" * 20, "A" * 20)
    cache.put("b" * 20, "B" * 20)
    assert cache.get("a" * 20) == "A" * 20  # a is now the most recent
    cache.put("c" * 20, "C" * 20)  # over budget: b goes, not a
    assert cache.get("b" * 20) is None
    assert cache.get("a" * 20) == "A" * 20 and cache.get("c" * 20) == "C" * 20
    assert cache.size <= 100
    cache.put("d" * 80, "D" * 80)  # larger than the whole budget: never cached
    assert cache.get("d" * 80) is None and cache.size <= 100


def test_task_lists_get_disabled_checkboxes_and_the_text_stays_escaped() -> None:
    html = render_markdown("- [x] done\n- [ ] <img src=x onerror=alert(1)>\n- not [ ] a task")
    assert (
        '<li class="task"><input type="checkbox" disabled checked aria-label="task"> done</li>'
        in html
    )
    assert (
        '<li class="task"><input type="checkbox" disabled aria-label="task">'
        " &lt;img src=x onerror=alert(1)&gt;</li>"
    ) in html
    assert "<li>not [ ] a task</li>" in html
    assert "<input" not in render_markdown("[ ] outside a list")
