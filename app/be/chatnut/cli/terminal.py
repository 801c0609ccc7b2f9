"""Output to a terminal shows control characters, never obeys them:
a message must not be able to rewrite the screen, the title or the clipboard.

A message is data: printed raw, `ESC ] 52` writes the clipboard, `\r`
rewrites a line to fake an approval, OSC 0 sets the window title, bidi
overrides reorder what the reader sees. When stdout or stderr is a terminal,
the CLI writes through `Terminal`, which shows each C0/C1 control (newline
and tab excepted), DEL and bidi control as `\\uXXXX`. That spelling is also
a JSON string escape of the same character, so `--format json` / `--json`
output stays exact JSON of the exact values. Piped output is left alone.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    return CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class Terminal:
    """A text stream that escapes controls; `raw` is the stream for our own colours."""

    def __init__(self, raw: TextIO) -> None:
        self.raw = raw

    def write(self, text: str) -> int:
        return self.raw.write(inert(text))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self.raw, name)


def guard(stream: TextIO) -> TextIO:
    if isinstance(stream, Terminal) or not stream.isatty():
        return stream
    return Terminal(stream)  # type: ignore[return-value]
