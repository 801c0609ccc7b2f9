"""Git-style path patterns for claims: parsing, matching a path, and overlap.

A pattern means what it would mean in a `.gitignore` at the repository root
if it began with a `/` (the glob dialect every git user reads, anchored):

* paths are relative to the repository root, `/` between names; a leading
  `/` may be written and changes nothing;
* every pattern is anchored at the root: `*.md` is README.md, not
  docs/x.md; write `**/*.md` for every Markdown file at any depth (unlike a
  `.gitignore`, where a name without a slash matches at any depth: there
  `src/` and `web/` would both claim `web/src/x`, a conflict nobody meant);
* `*` is any run of characters within one name, `?` one character,
  `[a-c]`, `[!a]` (or `[^a]`), `[[:digit:]]` one character of a class; none
  of them crosses a `/`; a backslash makes the next character plain;
* `**` as a whole name: `**/x` is `x` at any depth, `a/**/b` has zero or
  more directories between, `a/**` is everything inside `a` (not `a`
  itself); elsewhere (`a**b`) it is `*`;
* a pattern covers what it matches and everything beneath that (`src`
  covers `src/a.py`), as ignoring a directory ignores its files;
* a trailing `/` matches directories only: `docs/` covers every path under
  the `docs` directory, not a file named `docs`.

Two patterns **overlap** when some path is covered by both. That is decided
on the patterns alone, never on a listing of files (a file created
tomorrow is covered today): each pattern is a sequence of per-name globs and
`**`s, and `overlap` searches the product of the two — pairs of positions,
moved on by one name that both can accept, a name that both accept being
found the same way one level down, character by character. It returns the
shortest such path (a witness) or None.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache

MAX_PATTERN_CHARS = 256

# A character class: sorted, disjoint, inclusive code point ranges, never
# holding "/" (no glob crosses a directory) or NUL (no path holds one).
CharSet = tuple[tuple[int, int], ...]
ANY_CHAR: CharSet = ((1, 0x2E), (0x30, 0x10FFFF))
STAR = None  # in a name's glob: any run of characters (possibly none)
Token = CharSet | None
NameGlob = tuple[Token, ...]
ANY_NAME: NameGlob = (STAR,)  # names are never empty, so this is one name, any name
DEEP = "**"  # a pattern item: zero or more names
Item = NameGlob | str

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "blank": " \t",
    "cntrl": "\x01-\x1f\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@[-`{-~",
    "space": " \t\n\r\x0b\x0c",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}
# Characters a witness path is built from when the choice is free: readable ones first.
_NICE = "abcdefghijklmnopqrstuvwxyz0123456789_-.ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class GlobError(ValueError):
    """A pattern that means nothing; the message says why in one line."""


@dataclass(frozen=True)
class Glob:
    """One parsed pattern: `text` as given, `items` the names and `**`s it stands for."""

    text: str
    items: tuple[Item, ...]
    regex: re.Pattern[str] = field(compare=False, repr=False)
    # What every covered `path + "/"` starts with: a cheap first test before the regex.
    prefix: str = field(default="", compare=False, repr=False)

    def covers(self, path: str) -> bool:
        """Whether this pattern covers `path` (relative to the root, `/` between names)."""
        return self.regex.fullmatch(path.strip("/") + "/") is not None


# -- character sets -------------------------------------------------------------


def _normal(ranges: list[tuple[int, int]]) -> CharSet:
    """Sorted, merged, and clipped to ANY_CHAR."""
    merged: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return _intersect(tuple(merged), ANY_CHAR)


def _intersect(a: CharSet, b: CharSet) -> CharSet:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo <= hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return tuple(out)


def _complement(a: CharSet) -> CharSet:
    out, start = [], 1
    for lo, hi in a:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= 0x10FFFF:
        out.append((start, 0x10FFFF))
    return _intersect(tuple(out), ANY_CHAR)


def _pick(a: CharSet) -> str | None:
    """A character of `a`, a readable one when there is one."""
    if not a:
        return None
    starts = [lo for lo, _ in a]
    for ch in _NICE:
        at = bisect_right(starts, ord(ch)) - 1
        if at >= 0 and a[at][0] <= ord(ch) <= a[at][1]:
            return ch
    return chr(a[0][0])


# -- parsing --------------------------------------------------------------------


def _ranges_of(spec: str) -> list[tuple[int, int]]:
    """ "a-z" style text (as in _POSIX) as ranges."""
    out, i = [], 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            out.append((ord(spec[i]), ord(spec[i + 2])))
            i += 3
        else:
            out.append((ord(spec[i]), ord(spec[i])))
            i += 1
    return out


def _bracket(name: str, at: int, pattern: str) -> tuple[CharSet, int]:
    """The class opening at name[at] == "[": its set and the index after its "]"."""
    i = at + 1
    negate = i < len(name) and name[i] in "!^"
    i += negate
    ranges: list[tuple[int, int]] = []
    first = True
    while True:
        if i >= len(name):
            raise GlobError(f"{pattern!r} has a '[' with no closing ']'")
        ch = name[i]
        if ch == "]" and not first:
            i += 1
            break
        first = False
        if name.startswith("[:", i):
            end = name.find(":]", i + 2)
            cls = name[i + 2 : end] if end >= 0 else ""
            if cls not in _POSIX:
                raise GlobError(
                    f"{pattern!r}: unknown class [:{cls}:] (known: {', '.join(sorted(_POSIX))})"
                )
            ranges += _ranges_of(_POSIX[cls])
            i = end + 2
            continue
        lo, i = _class_char(name, i, pattern)
        if i + 1 < len(name) and name[i] == "-" and name[i + 1] != "]":
            hi, i = _class_char(name, i + 1, pattern)
            if hi < lo:
                raise GlobError(f"{pattern!r} has a range {chr(lo)}-{chr(hi)} that runs backwards")
            ranges.append((lo, hi))
        else:
            ranges.append((lo, lo))
    chars = _normal(ranges)
    if negate:
        chars = _complement(chars)
    if not chars:
        raise GlobError(f"{pattern!r} has a class that matches no character of a name")
    return chars, i


def _class_char(name: str, i: int, pattern: str) -> tuple[int, int]:
    if name[i] == "\\":
        if i + 1 >= len(name):
            raise GlobError(f"{pattern!r} has a '[' with no closing ']'")
        return ord(name[i + 1]), i + 2
    return ord(name[i]), i + 1


def _name_glob(name: str, pattern: str) -> NameGlob:
    tokens: list[Token] = []
    i = 0
    while i < len(name):
        ch = name[i]
        if ch == "*":
            if not tokens or tokens[-1] is not STAR:
                tokens.append(STAR)
            i += 1
        elif ch == "?":
            tokens.append(ANY_CHAR)
            i += 1
        elif ch == "[":
            chars, i = _bracket(name, i, pattern)
            tokens.append(chars)
        elif ch == "\\":
            if i + 1 >= len(name):
                raise GlobError(f"{pattern!r} ends a name with a lone backslash")
            tokens.append(((ord(name[i + 1]), ord(name[i + 1])),))
            i += 2
        else:
            tokens.append(((ord(ch), ord(ch)),))
            i += 1
    return tuple(tokens)


def parse(text: str) -> Glob:
    """The pattern `text` (surrounding blanks ignored); GlobError says what is wrong."""
    pattern = text.strip()
    if not pattern:
        raise GlobError("a path pattern must not be empty")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise GlobError(
            f"a path pattern is {len(pattern)} characters; the limit is {MAX_PATTERN_CHARS}"
        )
    if any(ord(c) < 0x20 or c == "\x7f" or "\ud800" <= c <= "\udfff" for c in pattern):
        raise GlobError(f"{pattern!r} holds a control character or a lone surrogate")
    if pattern.startswith("!"):
        raise GlobError(f"{pattern!r}: a claim cannot negate ('!'); claim what you will edit")
    body = pattern
    directory = body.endswith("/")
    body = body.removesuffix("/").removeprefix("/")
    if not body:
        raise GlobError(f"{pattern!r} names no path (claim '**' for the whole repository)")
    names = body.split("/")
    if "" in names:
        raise GlobError(f"{pattern!r} has an empty name ('//')")
    if "." in names or ".." in names:
        raise GlobError(f"{pattern!r} has a '.' or '..' name; write the path from the root")
    items: list[Item] = []
    for name in names:
        item: Item = DEEP if name == "**" else _name_glob(name, pattern)
        if not (item == DEEP and items and items[-1] == DEEP):
            items.append(item)
    if items[-1] == DEEP:  # a trailing /** is what is inside, not the directory itself
        items[-1] = ANY_NAME
    if directory:
        items.append(ANY_NAME)
    items.append(DEEP)  # and everything beneath what it matches
    return Glob(pattern, tuple(items), re.compile(_regex(items)), _prefix(items))


def _prefix(items: list[Item]) -> str:
    """The literal text at the start of every path + "/" the items match."""
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            break
        for token in item:
            if token is STAR or len(token) != 1 or token[0][0] != token[0][1]:
                return "".join(out)
            out.append(chr(token[0][0]))
        out.append("/")
    return "".join(out)


def _regex(items: list[Item]) -> str:
    """A regular expression over `path + "/"` (each name followed by its slash)."""
    parts = []
    for item in items:
        if item == DEEP:
            parts.append("(?:[^/]+/)*")
        else:
            assert not isinstance(item, str)
            parts.append("".join(_token_regex(t) for t in item) + "/")
    return "".join(parts)


def _token_regex(token: Token) -> str:
    if token is STAR:
        return "[^/]*"
    if len(token) == 1 and token[0][0] == token[0][1]:
        return re.escape(chr(token[0][0]))
    return "[" + "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in token) + "]"


# -- overlap --------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _name_witness(a: NameGlob, b: NameGlob) -> str | None:
    """The shortest non-empty name both globs match, or None.

    Breadth-first over (position in a, position in b, anything taken yet): a
    `*` may be passed over, or take a character and stay; a class takes one
    character and moves on; both sides take the same character.
    """
    start = (0, 0, False)
    parent: dict[tuple[int, int, bool], tuple[tuple[int, int, bool], str] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        i, j, taken = state
        if i == len(a) and j == len(b) and taken:
            chars = []
            back = parent[state]
            while back is not None:
                state, ch = back
                chars.append(ch)
                back = parent[state]
            return "".join(reversed(chars))
        steps: list[tuple[tuple[int, int, bool], str]] = []
        if i < len(a) and a[i] is STAR:
            steps.append(((i + 1, j, taken), ""))
        if j < len(b) and b[j] is STAR:
            steps.append(((i, j + 1, taken), ""))
        if i < len(a) and j < len(b):
            ta, tb = a[i], b[j]
            both = _intersect(ANY_CHAR if ta is STAR else ta, ANY_CHAR if tb is STAR else tb)
            shared = _pick(both)
            if shared is not None:
                steps.append(
                    ((i if ta is STAR else i + 1, j if tb is STAR else j + 1, True), shared)
                )
        for nxt, ch in steps:
            if nxt not in parent:
                parent[nxt] = (state, ch)
                queue.append(nxt)
    return None


def overlap(a: Glob, b: Glob) -> str | None:
    """A path both patterns cover (the shortest), or None when there is none."""
    x, y = a.items, b.items
    start = (0, 0)
    parent: dict[tuple[int, int], tuple[tuple[int, int], str | None] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        i, j = state
        if i == len(x) and j == len(y):
            names = []
            back = parent[state]
            while back is not None:
                state, name = back
                if name is not None:
                    names.append(name)
                back = parent[state]
            return "/".join(reversed(names))
        steps: list[tuple[tuple[int, int], str | None]] = []
        if i < len(x) and x[i] == DEEP:
            steps.append(((i + 1, j), None))
        if j < len(y) and y[j] == DEEP:
            steps.append(((i, j + 1), None))
        if i < len(x) and j < len(y) and not (x[i] == DEEP and y[j] == DEEP):
            ga, gb = x[i], y[j]
            name = _name_witness(
                ANY_NAME if isinstance(ga, str) else ga, ANY_NAME if isinstance(gb, str) else gb
            )
            if name is not None:
                nxt = (i if ga == DEEP else i + 1, j if gb == DEEP else j + 1)
                steps.append((nxt, name))
        for nxt, name in steps:
            if nxt not in parent:
                parent[nxt] = (state, name)
                queue.append(nxt)
    return None


def any_overlap(mine: list[Glob], theirs: list[Glob]) -> bool:
    return any(overlap(a, b) is not None for a in mine for b in theirs)
