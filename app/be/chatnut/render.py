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
from functools import lru_cache
from typing import Any

import anyio
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

CODE_CSS_CLASS = "hl"
PYGMENTS_STYLE = "monokai"
# Larger bodies are rendered off the event loop (see `with_html_async`).
BIG_CONTENT_CHARS = 8_000
CACHE_ENTRIES = 4096

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
        f'<a href="{_escape_attr(src)}" rel="noopener noreferrer nofollow" target="_blank">'
        f"[image: {_escape_text(alt)}]</a>"
    )


def _link_open(
    self: RendererHTML, tokens: list[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
    tokens[idx].attrSet("target", "_blank")
    return self.renderToken(tokens, idx, options, env)


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(text: str) -> str:
    return _escape_text(text).replace('"', "&quot;")


def _build() -> MarkdownIt:
    md = MarkdownIt("js-default", {"html": False, "highlight": _highlight, "breaks": True})
    md.enable("table")
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("image", _image_as_link)
    md.add_render_rule("link_open", _link_open)
    return md


_md = _build()


@lru_cache(maxsize=CACHE_ENTRIES)
def render_markdown(content: str) -> str:
    """Safe HTML for one message body (cached: a fan-out renders it once)."""
    return _md.render(content)


def with_html(message: dict[str, Any]) -> dict[str, Any]:
    """The message as the page wants it: the stored fields plus `html`."""
    return {**message, "html": render_markdown(message["content"])}


async def with_html_async(message: dict[str, Any]) -> dict[str, Any]:
    """`with_html`, with large bodies rendered on a worker thread so a 64 KB code
    block never holds up the event loop (and every other stream) while it renders."""
    if len(message["content"]) <= BIG_CONTENT_CHARS:
        return with_html(message)
    return await anyio.to_thread.run_sync(with_html, message)


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
