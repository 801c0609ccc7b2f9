"""Message content → safe HTML for the web page.

Rendered on the server, once per message version, when a stream or a page
first needs it — never on the posting path, and never in what MCP returns.

Never on the event loop either, and never for long: markdown-it is quadratic
on some inputs (unclosed link labels: `"!["*3995` costs seconds, a 64 KB
version minutes), and one message must not stall every call and stream.
Rendering runs on a worker thread with a time budget per message, checked
before every parser rule runs; past it the message is shown as escaped plain
text, and that fallback is cached like any rendering, so it costs once.

Safety is the renderer's job, so the page can insert its output as is:
* markdown-it's "js-default" preset with raw HTML off: `<script>` in a
  message is shown as text;
* links only to http(s), mailto and in-page/relative targets — `javascript:`,
  `data:`, `vbscript:`, `file:` and every other scheme stay plain text;
* images become links: the page never fetches anything outside the server;
* fenced code goes through Pygments' HTML formatter, which escapes, and marks
  tokens with CSS classes (inline styles would break the page's CSP).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from chatnut import metrics
from chatnut.shapes.messages import Message, RenderedMessage

CODE_CSS_CLASS = "hl"
PYGMENTS_STYLE = "monokai"
# A 64 KB code block or page of Markdown renders in well under this; the
# pathological inputs above blow through it in a fraction of their length.
RENDER_BUDGET_SECONDS = 2.0
FALLBACK_CLASS = "unrendered"
CACHE_BUDGET_CHARS = 32_000_000  # source plus HTML, about 32-64 MB at most

log = logging.getLogger(__name__)
_SAFE_SCHEME = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
_ANY_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)

_formatter = HtmlFormatter(nowrap=True, style=PYGMENTS_STYLE)


def _safe_link(url: str) -> bool:
    target = url.strip()
    # Relative paths, anchors and query links stay on this server.
    return bool(_SAFE_SCHEME.match(target)) or not _ANY_SCHEME.match(target)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    _check_budget()
    name = lang.strip().split(maxsplit=1)[0] if lang.strip() else ""
    if not name:
        return ""  # markdown-it escapes it and wraps it in <pre><code>
    try:
        lexer = get_lexer_by_name(name.lower())
    except ClassNotFound:
        return ""
    body = highlight(code, lexer, _formatter)
    return f'<pre class="{CODE_CSS_CLASS}"><code data-lang="{lexer.name}">{body}</code></pre>'


def _image_as_link(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env) or src
    return (
        f'<a href="{escapeHtml(src)}" rel="noopener noreferrer nofollow" target="_blank">'
        f"[image: {escapeHtml(alt)}]</a>"
    )


def _link_open(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


class OverBudget(Exception):
    """This message took longer than RENDER_BUDGET_SECONDS to render."""


_deadline = threading.local()


def _check_budget() -> None:
    if time.monotonic() > getattr(_deadline, "at", float("inf")):
        raise OverBudget


def _budgeted(fn: Callable[..., Any]) -> Callable[..., Any]:
    def rule(*args: Any) -> Any:
        _check_budget()
        return fn(*args)

    return rule


def _cell_open(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    # markdown-it aligns table cells with style="text-align:…", which the page's
    # CSP (style-src 'self') blocks: a class the stylesheet defines instead.
    token = tokens[idx]
    style = str(token.attrGet("style") or "")
    if style.startswith("text-align:"):
        token.attrs.pop("style", None)
        token.attrSet("class", "align-" + style.removeprefix("text-align:"))
    return self.renderToken(tokens, idx, options, env)


_TASK = re.compile(r"\[([ xX])\] ")


def _task_lists(state: StateCore) -> None:
    """GFM task lists: a list item starting "[ ] " or "[x] " gets a disabled
    checkbox. Ours, as markup we write; the item's own text stays escaped."""
    tokens = state.tokens
    for i in range(2, len(tokens)):
        inline = tokens[i]
        if inline.type != "inline" or tokens[i - 1].type != "paragraph_open":
            continue
        if tokens[i - 2].type != "list_item_open" or not inline.children:
            continue
        first = inline.children[0]
        match = _TASK.match(first.content) if first.type == "text" else None
        if not match:
            continue
        first.content = first.content[match.end() :]
        box = Token("html_inline", "", 0)
        checked = " checked" if match.group(1) in "xX" else ""
        box.content = f'<input type="checkbox" disabled{checked} aria-label="task"> '
        inline.children.insert(0, box)
        tokens[i - 2].attrSet("class", "task")


def _build() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "highlight": _highlight, "breaks": True})
    md.enable("table")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("th_open", _cell_open)
    md.add_render_rule("td_open", _cell_open)
    md.core.ruler.push("task_lists", _task_lists)
    # Every rule of every stage checks the budget before it runs: a quadratic
    # input is many rule calls (one label scan each), so it stops within one.
    for ruler in (md.core.ruler, md.block.ruler, md.inline.ruler, md.inline.ruler2):
        for entry in ruler.__rules__:
            entry.fn = _budgeted(entry.fn)
        ruler.__cache__ = None
    return md


_md = _build()


class _RenderCache:
    """Rendered bodies, least recently used out first, bounded by their total size
    (a count bound alone would let 4096 maximum-size messages hold ~1 GB)."""

    def __init__(self, budget_chars: int) -> None:
        self.budget = budget_chars
        self.size = 0
        self.entries: OrderedDict[str, str] = OrderedDict()
        self.lock = threading.Lock()  # pages and large bodies render on worker threads

    def get(self, content: str) -> str | None:
        with self.lock:
            html = self.entries.get(content)
            if html is not None:
                self.entries.move_to_end(content)
            return html

    def put(self, content: str, html: str) -> None:
        cost = len(content) + len(html)
        if cost > self.budget:
            return
        with self.lock:
            if content in self.entries:
                return
            self.entries[content] = html
            self.size += cost
            while self.size > self.budget:
                old, old_html = self.entries.popitem(last=False)
                self.size -= len(old) + len(old_html)


_cache = _RenderCache(CACHE_BUDGET_CHARS)


def plain_html(content: str) -> str:
    """The fallback: the text itself, escaped (the class keeps its line breaks)."""
    return f'<p class="{FALLBACK_CLASS}">{escapeHtml(content)}</p>\n'


def render_markdown(content: str, budget: float = RENDER_BUDGET_SECONDS) -> str:
    """Safe HTML for one message body (cached: a fan-out renders it once).

    Blocking: call it on a worker thread (`with_html_async` does)."""
    html = _cache.get(content)
    if html is None:
        _deadline.at = time.monotonic() + budget
        try:
            html = _md.render(content)
        except OverBudget:
            log.warning(
                "a %d-character message took over %.1fs to render; shown as plain text",
                len(content),
                budget,
            )
            html = plain_html(content)
            metrics.RENDER_FALLBACKS.inc()
        finally:
            _deadline.at = float("inf")
        _cache.put(content, html)
    return html


def with_html(message: Mapping[str, Any]) -> dict[str, Any]:
    """The message as the page wants it: the stored fields plus `html` (blocking)."""
    return {**message, "html": render_markdown(message["content"])}


def _render_all(contents: list[str]) -> list[str]:
    return [render_markdown(content) for content in contents]


# Contents being rendered now, each with the event its renderer sets when done:
# a message fanned out to 500 streams is rendered by one of them. Touched only
# on the event loop's thread.
_in_flight: dict[str, anyio.Event] = {}


async def with_html_async(messages: Sequence[Message]) -> list[RenderedMessage]:
    """`with_html` for a page of messages, rendered on a worker thread: the event
    loop (and every call and stream on it) only ever does the cache lookups."""
    htmls = await html_of([message["content"] for message in messages])
    return [{**message, "html": htmls[message["content"]]} for message in messages]


def as_rendered(messages: Sequence[Message]) -> list[RenderedMessage]:
    """The messages as a page without rendering shows them: exactly as stored."""
    return [{**message} for message in messages]


async def html_of(contents: Sequence[str]) -> dict[str, str]:
    """The rendering of each of `contents`, big ones on a worker thread."""
    htmls: dict[str, str] = {}
    mine: list[str] = []
    theirs: dict[str, anyio.Event] = {}
    for content in contents:
        if content in htmls or content in theirs or content in mine:
            continue
        cached = _cache.get(content)
        if cached is not None:
            htmls[content] = cached
        elif content in _in_flight:
            theirs[content] = _in_flight[content]
        else:
            mine.append(content)
    if mine:
        done = anyio.Event()
        for content in mine:
            _in_flight[content] = done
        try:
            rendered = await anyio.to_thread.run_sync(_render_all, mine)
        finally:
            for content in mine:
                _in_flight.pop(content, None)
            done.set()
        htmls.update(zip(mine, rendered, strict=True))
    for content, event in theirs.items():
        await event.wait()
        cached = _cache.get(content)  # absent only if it could not be cached
        if cached is None:
            cached = await anyio.to_thread.run_sync(render_markdown, content)
        htmls[content] = cached
    return htmls


def code_css() -> str:
    """The stylesheet for highlighted code, scoped to the renderer's <pre> class."""
    rules: str = _formatter.get_style_defs(f".{CODE_CSS_CLASS}")
    return rules


def _main() -> None:
    # `python -m chatnut.render` prints the code stylesheet; app/fe/code.css is
    # its output, and a test keeps the two equal.
    print(code_css())


if __name__ == "__main__":
    _main()
