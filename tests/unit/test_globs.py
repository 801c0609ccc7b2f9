"""Claim patterns: git's meaning, checked against git itself and against pathspec.

The overlap rule (two patterns overlap when some path is covered by both) is
decided on the patterns; these tests check it against brute force: every
path of a small universe is matched by pathspec (an independent gitignore
implementation), and the overlap's witness must be covered by both patterns,
while "no overlap" must mean no path of the universe is covered by both.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import warnings
from pathlib import Path

import pathspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatnut.globs import GlobError, overlap, parse

# -- the edges, by example ----------------------------------------------------------

OVERLAPS = [
    ("src/**", "src/a.py", True),
    ("src/**", "src", True),  # src covers src/x, which src/** covers
    ("src/**", "srcx/a.py", False),
    ("*.md", "docs/x.md", False),  # anchored at the root: README.md, not docs/x.md
    ("**/*.md", "docs/x.md", True),  # ...any depth is said with **
    ("/*.md", "*.md", True),  # a leading slash changes nothing
    ("docs/*.md", "docs/a/x.md", False),  # * never crosses a /
    ("docs/*.md", "docs/a.md/x", True),  # ...but a.md may be a directory
    ("docs/", "docs/x.md", True),
    ("docs/", "docs", True),  # both cover docs/anything
    ("src/", "web/", False),
    ("build/", "src/build", False),
    ("**/build/", "src/build/x", True),
    ("**/build/", "src/build", True),  # src/build covers src/build/x
    ("[a-c]*.py", "b.py", True),
    ("[a-c]*.py", "[!a-c]*.py", False),
    ("[a-c]*.py", "d.py", False),
    ("[!a-c]x", "dx", True),
    ("[!a-c]x", "ax", False),
    ("[[:digit:]]*", "[!0-9]*", False),
    ("[[:digit:]]*", "7up", True),
    ("[[:upper:]]*", "[[:lower:]]*", False),
    ("src/a?.py", "src/ab.py", True),
    ("src/a?.py", "src/a.py", False),
    ("a/**/b", "a/b", True),
    ("a/*/b", "a/b", True),  # a/b covers a/b/b
    ("a/*/b", "a/c.txt", True),  # decided on patterns: a/c.txt may be a directory
    ("a/*/b", "x/b", False),
    ("a/*/b", "a/x/y/b", False),
    ("a/**/b/c", "a/x/y/b/c", True),
    ("src/*.py", "src/*.md", False),
    ("*.py", "*.md", False),
    ("**", "anything/at/all", True),
    (r"\*.py", "a.py", False),
    (r"\*.py", "*.py", True),
]


def test_literal_prefixes() -> None:
    assert parse("src/**").prefix == "src/"
    assert parse("/src/api/v1.py").prefix == "src/api/v1.py/"
    assert parse("src/a*.py").prefix == "src/a"
    assert parse("**/x").prefix == ""
    assert parse("[ab]/x").prefix == ""


@pytest.mark.parametrize(("a", "b", "expected"), OVERLAPS)
def test_overlap_edges(a: str, b: str, expected: bool) -> None:
    witness = overlap(parse(a), parse(b))
    assert (witness is not None) is expected, witness
    assert (overlap(parse(b), parse(a)) is not None) is expected  # symmetric
    if witness is not None:
        assert parse(a).covers(witness) and parse(b).covers(witness)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        ("/", "names no path"),
        ("!src/**", "cannot negate"),
        ("a//b", "empty name"),
        ("../etc/passwd", "'..'"),
        ("./src", "'.'"),
        ("src/[ab", "no closing"),
        ("[z-a]", "runs backwards"),
        ("[[:letter:]]", "unknown class"),
        ("[![:cntrl:] -\U0010ffff]", "matches no character"),
        ("src/[/]", "no closing"),  # a class never holds the / between names
        ("a\\", "lone backslash"),
        ("a\x00b", "control character"),
        ("x" * 257, "the limit is 256"),
    ],
)
def test_bad_patterns_are_refused_in_one_line(bad: str, words: str) -> None:
    with pytest.raises(GlobError) as caught:
        parse(bad)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_matching_agrees_with_git_itself(tmp_path: Path) -> None:
    """`git check-ignore` on the pattern anchored with a leading / is the reference
    (paths that do not exist are files)."""
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    patterns = [
        "src/**",
        "src/**/",
        "**/",
        "docs/",
        "*.md",
        "/*.md",
        "**/*.md",
        "a/**/b",
        "[a-c]x",
        "[!a]x",
        "a[!a]x",
        "[[:digit:]]x",
        "a?",
        r"\*x",
        "src",
    ]
    paths = ["src", "src/a", "src/a/b", "a.md", "d/a.md", "docs", "docs/x", "a/docs/y"]
    paths += ["a/b", "a/x/b", "bx", "ax", "1x", "a1", "*x", "x/src/y", "a", "a/x", "abx"]
    for pattern in patterns:
        (tmp_path / ".gitignore").write_text("/" + pattern.removeprefix("/") + "\n")
        ignored = subprocess.run(
            ["git", "check-ignore", "--no-index", "--stdin"],
            cwd=tmp_path,
            input="\n".join(paths) + "\n",
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        glob = parse(pattern)
        assert [p for p in paths if glob.covers(p)] == ignored, pattern


# -- property tests: overlap against brute force --------------------------------------

NAME_PARTS = ["a", "b", ".", "*", "?", "[ab]", "[!a]", "[a-b]", r"\*"]
UNIVERSE_NAMES = [
    "a",
    "b",
    "ab",
    "ba",
    "aa",
    "c",
    ".a",
    "*",
    "a.b",
    "bb",
    "abc",
    "cab",
    "b.a",
    "a*",
]
UNIVERSE = [
    "/".join(names)
    for depth in (1, 2, 3)
    for names in itertools.product(UNIVERSE_NAMES, repeat=depth)
]

names = (
    st.lists(st.sampled_from(NAME_PARTS), min_size=1, max_size=3)
    .map("".join)
    .map(lambda name: name + "a" if name in {".", ".."} else name)  # refused: tested above
)
segments = st.one_of(names, names, st.just("**"))


@st.composite
def patterns(draw: st.DrawFn) -> str:
    parts = draw(st.lists(segments, min_size=1, max_size=3))
    text = "/".join(parts)
    if draw(st.booleans()):
        text = "/" + text
    # A trailing "**/" is where pathspec and git disagree (git: directories
    # strictly inside; pathspec: also files) — checked against git above instead.
    if draw(st.booleans()) and parts[-1] != "**":
        text += "/"
    return text


class Reference:
    """pathspec's gitignore matcher for the pattern anchored with a leading /, with
    one correction: its negated classes may match "/", git's never do (`a[!a]a`
    never covers a/a)."""

    def __init__(self, pattern: str) -> None:
        anchored = "/" + pattern.removeprefix("/")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pathspec's own regexes warn about "[["
            (compiled,) = pathspec.GitIgnoreSpec.from_lines([anchored]).patterns
        assert compiled.regex is not None and compiled.include
        self.regex = re.compile(compiled.regex.pattern.replace("[^", "[^/"))

    def match_file(self, path: str) -> bool:
        return self.regex.search(path) is not None


def reference(pattern: str) -> Reference:
    return Reference(pattern)


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(patterns())
def test_matching_agrees_with_pathspec(pattern: str) -> None:
    glob, spec = parse(pattern), reference(pattern)
    for path in UNIVERSE:
        assert glob.covers(path) == spec.match_file(path), (pattern, path)
        if glob.covers(path):  # the prefix is a necessary condition (the guard's first test)
            assert (path + "/").startswith(glob.prefix), (pattern, glob.prefix, path)


@PROPERTY
@given(patterns(), patterns())
def test_overlap_is_exactly_a_shared_path(a: str, b: str) -> None:
    glob_a, glob_b = parse(a), parse(b)
    witness = overlap(glob_a, glob_b)
    if witness is not None:
        # Decided on the patterns: the witness need not be in the universe,
        # but both must cover it, by the independent matcher too.
        assert reference(a).match_file(witness) and reference(b).match_file(witness), witness
        assert overlap(glob_b, glob_a) is not None
    else:
        shared = [p for p in UNIVERSE if glob_a.covers(p) and glob_b.covers(p)]
        assert shared == [], (a, b, shared[:3])
