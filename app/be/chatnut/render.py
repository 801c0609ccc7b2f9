"""Message content → safe HTML for the web page (SPEC §7).

Rendered on the server, once per message version, when a stream or a page
first needs it — never on the posting path, and never in what MCP returns.

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

import re
import threading
from collections import OrderedDict
from typing import Any

import anyio
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

CODE_CSS_CLASS = "hl"
PYGMENTS_STYLE = "monokai"
# Larger pages are rendered off the event loop (see `with_html_async`).
BIG_CONTENT_CHARS = 8_000
CACHE_BUDGET_CHARS = 32_000_000  # source plus HTML, about 32-64 MB at most

_SAFE_SCHEME = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
_ANY_SCHEME = re.compile(r"^[a-z][a-z0-9+.\-]*:", re.IGNORECASE)

_formatter = HtmlFormatter(nowrap=True, style=PYGMENTS_STYLE)


def _safe_link(url: str) -> bool:
    target = url.strip()
    # Relative paths, anchors and query links stay on this server.
    return bool(_SAFE_SCHEME.match(target)) or not _ANY_SCHEME.match(target)


def _highlight(code: str, lang: str, _attrs: str) -> str:
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


def _build() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "highlight": _highlight, "breaks": True})
    md.enable("table")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("link_open", _link_open)
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


def render_markdown(content: str) -> str:
    """Safe HTML for one message body (cached: a fan-out renders it once)."""
    html = _cache.get(content)
    if html is None:
        html = _md.render(content)
        _cache.put(content, html)
    return html


def with_html(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the page wants it: the stored fields plus `html`."""
    return {**message, "html": render_markdown(message["content"])}


def _all_with_html(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [with_html(m) for m in messages]


async def with_html_async(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`with_html` for a page of messages. Past a few thousand characters the
    rendering moves to a worker thread, so a page of 1000 messages or one 64 KB
    code block never holds up the event loop (and every stream on it)."""
    if sum(len(m["content"]) for m in messages) <= BIG_CONTENT_CHARS:
        return _all_with_html(messages)
    return await anyio.to_thread.run_sync(_all_with_html, messages)


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
