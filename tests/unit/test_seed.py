"""The demo fixture: data/seed.py rebuilds data/dev.db through the service layer,
with the counts the docs promise, and the committed file is what it builds."""

from __future__ import annotations

import importlib.util
import sqlite3
from contextlib import closing
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
CONTENT_TABLES = ("rooms", "messages", "read_cursors", "room_status", "agent_registry")


def load_seed() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed", ROOT / "data" / "seed.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with closing(sqlite3.connect(path)) as conn:
        return {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in CONTENT_TABLES
        }


def test_seed_builds_the_promised_fixture_and_matches_the_committed_one(tmp_path: Path) -> None:
    target = tmp_path / "dev.db"
    assert load_seed().main(["--db", str(target)]) == 0
    with closing(sqlite3.connect(target)) as conn:
        projects = conn.execute("SELECT count(DISTINCT project) FROM rooms").fetchone()[0]
        statuses = dict(conn.execute("SELECT status, count(*) FROM rooms GROUP BY status"))
        messages = conn.execute("SELECT count(*) FROM messages").fetchone()[0]
        kinds = dict(conn.execute("SELECT message_type, count(*) FROM messages GROUP BY 1"))
        replies = conn.execute(
            "SELECT count(*) FROM messages WHERE metadata LIKE '%reply_to%'"
        ).fetchone()[0]
        web = conn.execute("SELECT count(*) FROM messages WHERE metadata LIKE '%web%'")
        registrations = conn.execute("SELECT count(*) FROM agent_registry").fetchone()[0]
        web_posts = web.fetchone()[0]
    assert (projects, statuses, messages) == (2, {"live": 3, "archived": 2}, 45)
    assert (kinds["system"], replies, web_posts, registrations) == (2, 12, 1, 9)
    # Deterministic: the committed fixture is exactly what the script builds.
    assert rows(target) == rows(ROOT / "data" / "dev.db")


def test_seed_refuses_to_replace_without_reset(tmp_path: Path) -> None:
    target = tmp_path / "dev.db"
    target.write_text("not mine to lose")
    assert load_seed().main(["--db", str(target)]) == 1
    assert target.read_text() == "not mine to lose"
