"""Datasets: 10 000 rooms and N messages, written straight into each system's database.

Each system first creates its own schema (its server starts once on an empty
file and stops); the rows are then inserted in bulk through sqlite3 on that
schema, so our triggers keep the search index and room counters exactly as a
post would. Room 0 holds the first 10 000 messages (the read benchmark); the
rest spread over all rooms. Contents are seeded pseudo-words plus planted
terms at known rates — the query set of the search benchmark.

Built once per (system, size) under .bench/data and copied for each run.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.systems import WORK, Server

ROOMS = 10_000
BIG_ROOM_MESSAGES = 10_000
# term -> share of messages that contain it; "zanzibar" is planted in exactly RARE_HITS.
TERMS = {"deploy": 0.30, "kubernetes": 0.01, "ok": 0.01}
RARE_TERM, RARE_HITS = "zanzibar", 10
QUERIES = {"rare": RARE_TERM, "medium": "kubernetes", "common": "deploy", "2 chars": "ok"}
SEED = 6


def _words(rnd: random.Random, count: int) -> list[str]:
    syllables = ["ka", "lo", "mi", "ter", "van", "ru", "pel", "dos", "fin", "gra", "hu", "sel"]
    words = set()
    while len(words) < count:
        word = "".join(rnd.choice(syllables) for _ in range(rnd.randint(2, 4)))
        if not any(term in word for term in [*TERMS, RARE_TERM]):
            words.add(word)
    return sorted(words)


def _stamp(kind: str, at: datetime) -> str:
    if kind == "ours":
        return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}+00:00"
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")  # the original's own format


def _rows(kind: str, messages: int, room_ids: list[str]) -> Iterator[tuple[str, ...]]:
    rnd = random.Random(SEED)
    vocabulary = _words(rnd, 3000)
    rare = set(rnd.sample(range(messages), RARE_HITS))
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(messages):
        words = rnd.choices(vocabulary, k=rnd.randint(8, 24))
        for term, share in TERMS.items():
            if rnd.random() < share:
                words.insert(rnd.randrange(len(words)), term)
        if i in rare:
            words.insert(rnd.randrange(len(words)), RARE_TERM)
        room = room_ids[0] if i < BIG_ROOM_MESSAGES else rnd.choice(room_ids)
        at = _stamp(kind, start + timedelta(milliseconds=i))
        yield (room, f"agent-{i % 7}", " ".join(words), "message", at)


def build(kind: str, messages: int, make_server: Callable[[Path, Path], Server]) -> Path:
    """The cached dataset for `kind` ('ours' or 'original') with `messages` messages."""
    target = WORK / "data" / f"{kind}-{messages}.db"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    for leftover in partial.parent.glob(partial.name + "*"):
        leftover.unlink()
    server = make_server(partial, WORK / "data" / f"home-{kind}")
    server.start()  # its own schema and migrations
    server.stop()
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = OFF")
        room_ids = [
            str(uuid.UUID(int=random.Random(k).getrandbits(128), version=4)) for k in range(ROOMS)
        ]
        created = _stamp(kind, datetime(2025, 12, 31, tzinfo=UTC))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO rooms (id, name, project, branch, status, created_at)"
            " VALUES (?, ?, ?, 'main', 'live', ?)",
            [
                (rid, f"room-{k:05d}", f"project-{k % 20:02d}", created)
                for k, rid in enumerate(room_ids)
            ],
        )
        rows = _rows(kind, messages, room_ids)
        while batch := [row for _, row in zip(range(50_000), rows, strict=False)]:
            conn.executemany(
                "INSERT INTO messages (room_id, sender, content, message_type, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                batch,
            )
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    partial.rename(target)
    return target


def copy_for_run(source: Path, destination: Path) -> Path:
    destination.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, destination)
    return destination


def big_room(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return str(conn.execute("SELECT room_id FROM messages WHERE id = 1").fetchone()[0])
    finally:
        conn.close()
