"""The shared tokens a server accepts: one, or several at once while one is rotated.

`CHATNUT_TOKEN=new,old` (or one per line in `--token-file`) accepts both;
the first is the one the server's own links are signed with and the one the
terminal commands send. Rotation: add the new token, reload
(`chatnut reload`), move the clients, drop the old one, reload again.

A presented token is compared with every accepted one in constant time, all
of them each time, so neither the answer's timing nor its order says which
(or how much of one) matched.
"""

from __future__ import annotations

import hmac


def split_tokens(text: str) -> tuple[str, ...]:
    """`a,b` (the environment's and the flag's spelling) as its tokens, blanks dropped."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def file_tokens(text: str) -> tuple[str, ...]:
    """A token file's tokens: one per line; blank lines and `#` comments skipped."""
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


class SharedTokens:
    def __init__(self, tokens: tuple[str, ...]) -> None:
        self._expected: tuple[bytes, ...] = ()
        self.replace(tokens)

    @property
    def required(self) -> bool:
        return bool(self._expected)

    def replace(self, tokens: tuple[str, ...]) -> None:
        """Accept exactly these from now on (a reload)."""
        self._expected = tuple(token.encode() for token in tokens)

    def matches(self, presented: bytes) -> bool:
        found = False
        for expected in self._expected:
            found |= hmac.compare_digest(presented, expected)
        return found
