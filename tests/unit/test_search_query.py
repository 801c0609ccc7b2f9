"""The page's search language: text, quoted phrases and operators, parsed once."""

from __future__ import annotations

import contextlib
import time

import pytest

from chatnut.errors import InvalidInput
from chatnut.service.search_query import SearchQuery, parse


def test_a_plain_query_is_one_substring_exactly_as_typed() -> None:
    for query in ("deploy failed", "  two  spaces ", "a", "TypeError: x", "http://host:80/p"):
        assert parse(query) == SearchQuery(terms=(query,))


def test_operators_narrow_and_the_words_between_them_are_terms() -> None:
    asked = parse("deploy from:qa failed in:infra/ci to:@Alice has:code after:2026-12-01")
    assert asked == SearchQuery(
        terms=("deploy", "failed"),
        sender="qa",
        room="ci",
        room_project="infra",
        to="Alice",
        has_code=True,
        after="2026-12-02",
    )
    assert parse("before:2026-03-01 in:#deploy FROM:bob") == SearchQuery(
        terms=(), sender="bob", room="deploy", before="2026-03-01"
    )


def test_quoted_phrases_are_terms_and_shield_operators() -> None:
    assert parse('"from:qa" rollout').terms == ("from:qa", "rollout")
    assert parse('"deploy failed" "exit 1"').terms == ("deploy failed", "exit 1")
    assert parse('from:"Jane Doe" status').sender == "Jane Doe"
    assert parse('"" from:qa').terms == ()  # an empty phrase looks for nothing


def test_words_that_only_look_like_operators_are_text() -> None:
    asked = parse("from: TypeError: foo:bar http://x 10:30 from:qa")
    assert asked.terms == ("from: TypeError: foo:bar http://x 10:30",)
    assert asked.sender == "qa"
    assert parse('say "unclosed from:qa').terms == ('say "unclosed',)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("from:qa from:bob", ["from:", "twice"]),
        ("has:links", ["has:links", "has:code"]),
        ("before:yesterday", ["before:yesterday", "2026-12-01"]),
        ("after:2026-02-30", ["after:2026-02-30", "not a date"]),
        ("after:9999-12-31", ["after:", "no day after"]),
        ("in:proj/", ["in:", "room name"]),
        ("from:@", ["from:", "needs a name"]),
        ("to:" + "x" * 101, ["to:", "limit"]),
        ("in:" + "r" * 201, ["in:", "limit"]),
        ('"" "  "', ["nothing to look for"]),
    ],
)
def test_an_operator_it_cannot_use_is_refused_in_one_line(query: str, words: list[str]) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse(query)
    message = str(refused.value)
    assert "\n" not in message and len(message) < 200
    for word in words:
        assert word in message


def test_unicode_stays_text_and_names() -> None:
    asked = parse("from:Zoë in:café/Ünïcode ☃ naïve «quote»")
    assert asked.sender == "Zoë" and (asked.room_project, asked.room) == ("café", "Ünïcode")
    assert asked.terms == ("☃ naïve «quote»",)
    # A fullwidth colon is not an operator's.
    assert parse("from：qa").terms == ("from：qa",)


def test_fts_syntax_is_only_ever_text() -> None:
    assert parse("NEAR(a b) AND -c OR d* ^e").terms == ("NEAR(a b) AND -c OR d* ^e",)
    assert parse('"a" OR "b').terms == ("a", 'OR "b')
    assert parse("col:x {a b} : * from:qa").terms == ("col:x {a b} : *",)


def test_huge_hostile_input_parses_in_linear_time() -> None:
    for hostile in ('"' + "a " * 100_000, 'from:"' * 50_000, "x:" * 100_000, '""' * 100_000):
        started = time.perf_counter()
        with contextlib.suppress(InvalidInput):  # a refusal is an answer too
            parse(hostile)
        assert time.perf_counter() - started < 1.0, hostile[:20]
