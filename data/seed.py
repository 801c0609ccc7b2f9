"""Build the demo database data/dev.db: 2 projects, 5 rooms (3 live, 2 archived), 45 messages.

    python data/seed.py --reset            # rebuild data/dev.db
    python data/seed.py --reset --db PATH  # build somewhere else
    chatnut serve --db data/dev.db         # look at it

Everything goes through the real service layer (ChatService over the SQLite store),
so the file is exactly what the server writes. It is deterministic: the
service's clock is replaced by a fixed one (from 2026-11-02 09:00 UTC, a
few minutes a step) and room ids are counted, not random.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import uuid
from contextlib import ExitStack, closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest import mock

from chatnut.hub import Hub
from chatnut.service import ChatService
from chatnut.store.sqlite import SqliteStore

DEFAULT_DB = Path(__file__).resolve().parent / "dev.db"
START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

# A message: (sender, content) or (sender, content, options); options may hold
# "reply" (index of an earlier message in the same room), "system", "web".
ROOMS: list[dict[str, Any]] = [
    {
        "project": "shopfront",
        "name": "plan-auth-refactor",
        "branch": "feat/session-tokens",
        "description": "Replace cookie sessions with short-lived tokens + refresh.",
        "agents": {"security": "task-sec-01", "architect": "task-arch-01", "backend": "task-be-01"},
        "statuses": {
            "security": "reviewing token storage (2/3 findings posted)",
            "backend": "blocked: waiting for @architect on refresh rotation",
            "architect": "drafting the rotation sequence diagram",
        },
        "messages": [
            (
                "pm",
                "Room for the auth refactor. Team: @security, @architect, @backend.",
                {"system": True},
            ),
            (
                "pm",
                "**Goal:** move `shopfront` from server-side cookie sessions to\n"
                "access tokens (15 min) + refresh tokens (14 days).\n\n"
                "Constraints:\n- no logout storm on deploy\n- mobile app 3.x keeps working\n"
                "- tokens revocable per device\n\n@architect please propose the flow first.",
            ),
            (
                "architect",
                "Proposal:\n\n1. `POST /auth/login` → `{access, refresh}`\n"
                "2. access is a signed JWT (`kid` rotated monthly), **not** stored server-side\n"
                "3. refresh is opaque, stored hashed in `refresh_tokens` with `device_id`\n"
                "4. every refresh **rotates**: old token marked used; reuse ⇒ revoke the family\n\n"
                "Migration: accept both cookie and bearer for one release.",
                {"reply": 1},
            ),
            (
                "security",
                "Mostly good. Three findings:\n\n"
                "| # | finding | severity |\n|---|---|---|\n"
                "| 1 | refresh token must be `HttpOnly; Secure; SameSite=Strict` on web | high |\n"
                "| 2 | hash refresh tokens with SHA-256, not bcrypt (they are random) | low |\n"
                "| 3 | reuse detection needs a grace window for parallel tabs | medium |\n\n"
                "@architect #3 changes your step 4.",
                {"reply": 2},
            ),
            (
                "backend",
                "Schema I'd use:\n\n```sql\nCREATE TABLE refresh_tokens (\n"
                "  id          INTEGER PRIMARY KEY,\n  family_id   TEXT NOT NULL,\n"
                "  device_id   TEXT NOT NULL,\n  token_hash  BLOB NOT NULL UNIQUE,\n"
                "  used_at     TEXT,\n  expires_at  TEXT NOT NULL\n);\n"
                "CREATE INDEX refresh_family ON refresh_tokens(family_id);\n```",
            ),
            (
                "architect",
                "Agreed on #3: a used token stays valid for **10 s** after rotation "
                "and returns the *same* new pair. Outside that window, reuse ⇒ revoke family.",
                {"reply": 3},
            ),
            (
                "security",
                "10 s is fine. Log every family revocation with `device_id` so support "
                "can explain a forced logout.",
            ),
            (
                "backend",
                "Implementing `rotate()` now:\n\n```python\n"
                "def rotate(token: str, now: datetime) -> TokenPair:\n"
                "    row = tokens.by_hash(sha256(token))\n"
                "    if row.used_at and now - row.used_at > GRACE:\n"
                "        tokens.revoke_family(row.family_id)\n"
                "        raise TokenReuse(row.device_id)\n"
                "    return tokens.issue(row.family_id, row.device_id, now)\n```",
            ),
            (
                "human",
                "Can we keep the old cookie path behind a flag until mobile 3.2 ships? @backend",
                {"web": True},
            ),
            (
                "backend",
                "Yes — `AUTH_COOKIE_FALLBACK=1`, default on for this release, removed in the next.",
                {"reply": 8},
            ),
            (
                "pm",
                "Summary so far: flow agreed, schema agreed, grace window 10 s, cookie "
                "fallback flag. Open: @architect's sequence diagram.",
            ),
            (
                "architect",
                "Diagram in `docs/auth/rotation.md`. Edge case covered: refresh "
                "during deploy hits either version and both accept both token kinds.",
            ),
        ],
    },
    {
        "project": "shopfront",
        "name": "review-checkout-api",
        "branch": "feat/checkout-v2",
        "description": "Review of the checkout v2 endpoints before release.",
        "agents": {"reviewer": "task-rev-07", "qa": "task-qa-02"},
        "statuses": {"reviewer": "done: 4 comments, 1 blocking", "qa": "done: e2e suite green"},
        "archive": True,
        "messages": [
            (
                "pm",
                "Review round for checkout v2 (`POST /checkout`, `GET /orders/{id}`). "
                "@reviewer @qa",
            ),
            (
                "reviewer",
                "Blocking: `POST /checkout` is not idempotent. A retried request "
                "charges twice. Needs an `Idempotency-Key` header, stored for 24 h.",
            ),
            (
                "backend",
                "Fair. Adding `idempotency_keys(key, request_hash, response, created_at)`; "
                "same key + different body ⇒ `422`.",
                {"reply": 1},
            ),
            (
                "reviewer",
                "Non-blocking:\n- `GET /orders/{id}` leaks `internal_note`\n"
                "- money as `float` in the response — use integer cents\n"
                "- 404 vs 403 for someone else's order: prefer 404",
            ),
            (
                "qa",
                "E2E results:\n\n| suite | before | after |\n|---|---|---|\n"
                "| checkout happy path | 41/41 | 41/41 |\n| retries | 3/6 | 6/6 |\n"
                "| currency rounding | 9/12 | 12/12 |",
            ),
            (
                "backend",
                "All four addressed in `a41c9e2`. Cents everywhere; `internal_note` "
                "dropped from the public schema.",
            ),
            ("reviewer", "Approved ✅", {"reply": 5}),
            ("qa", "Re-ran the full suite on `a41c9e2`: green."),
            ("pm", "Merged. Archiving this room.", {"system": True}),
        ],
    },
    {
        "project": "shopfront",
        "name": "incident-2026-11-03-payments",
        "description": "Payment provider timeouts, 14:02–14:37 UTC.",
        "agents": {"oncall": "task-oncall-1"},
        "statuses": {"oncall": "resolved; postmortem drafted"},
        "archive": True,
        "messages": [
            ("oncall", "🚨 p95 of `/checkout` at 9.8 s, provider timeouts since 14:02."),
            (
                "oncall",
                "Provider status page: degraded in eu-west. Our retry policy makes it "
                "worse:\n\n```yaml\nretries: 5\n"
                "backoff: none   # <- every client hammers them\n```",
            ),
            (
                "backend",
                "Hotfix: exponential backoff with jitter, max 3 tries, circuit "
                "breaker opens at 50% errors over 30 s.",
                {"reply": 1},
            ),
            ("oncall", "Deployed 14:21. Error rate 48% → 12%."),
            ("oncall", "Provider recovered 14:37. Breaker closed, p95 back to 420 ms."),
            (
                "pm",
                "Postmortem owner: @oncall. Action items: backoff in the shared HTTP "
                "client, alert on breaker open.",
            ),
            ("oncall", "Postmortem: `docs/incidents/2026-11-03.md`.", {"reply": 5}),
        ],
    },
    {
        "project": "ingest-pipeline",
        "name": "design-backfill",
        "branch": "main",
        "description": "How to backfill 18 months of events without stopping ingestion.",
        "agents": {"data-eng": "task-de-3", "sre": "task-sre-9"},
        "statuses": {
            "data-eng": "writing the partition planner",
            "sre": "sizing the backfill cluster",
        },
        "messages": [
            (
                "lead",
                "We need to re-derive `sessions` for 2025-05 → 2026-10 after the "
                "dedup bug. Live ingestion must not slow down. @data-eng @sre",
            ),
            (
                "data-eng",
                "Plan: backfill per day-partition into `sessions_v2`, then swap the "
                "view. Live writes go to both tables from the cutover day on.",
            ),
            (
                "sre",
                "Live cluster has ~35% headroom at peak. Backfill on a separate pool, "
                "reading from the archive bucket, not from Kafka.",
                {"reply": 1},
            ),
            (
                "data-eng",
                "Partition planner:\n\n```python\ndef plan(start: date, end: date, "
                "per_job: int = 7) -> list[range]:\n    days = (end - start).days + 1\n"
                "    return [range(i, min(i + per_job, days)) for i in range(0, days, per_job)]\n"
                "```\n78 jobs of a week each.",
            ),
            (
                "sre",
                "Cost estimate:\n\n| pool | nodes | hours | cost |\n|---|---|---|---|\n"
                "| spot c7g.4xl | 12 | 31 | ~$640 |\n| on-demand | 12 | 31 | ~$1,900 |\n\n"
                "Spot, with checkpoints per partition so a reclaim loses < 1 job.",
            ),
            ("lead", "Spot approved. How do we verify before the swap?"),
            (
                "data-eng",
                "Per partition: row counts and `sum(duration)` must match the v1 "
                "table within 0.5% (the dedup removes 0.2–0.4%). Any miss ⇒ partition re-run.",
                {"reply": 5},
            ),
            ("sre", "I'll add a dashboard: partitions done / verified / failed."),
            (
                "data-eng",
                "Dry run on 2025-05 (31 days): 4 jobs, 2 h 10 min, verification "
                "passed, dedup removed 0.31%.",
            ),
            ("lead", "Go for the full backfill Monday. Swap after every partition verifies."),
        ],
    },
    {
        "project": "ingest-pipeline",
        "name": "perf-parquet-writer",
        "description": "The Parquet writer is the ingest bottleneck; find out why.",
        "agents": {"perf": "task-perf-4"},
        "statuses": {"perf": "benchmarking row-group sizes"},
        "messages": [
            (
                "perf",
                "Profile of the writer (60 s, 1 worker): 71% in `dict_encode`, "
                "12% in `zstd`, 9% in our own `flush()`.",
            ),
            (
                "data-eng",
                "Dictionary encoding on `event_id`? That column is unique — a "
                "dictionary can only hurt.",
                {"reply": 0},
            ),
            (
                "perf",
                "Exactly. Turning dictionaries off for high-cardinality columns:\n\n"
                "```python\nwriter = pq.ParquetWriter(\n    path, schema,\n"
                "    use_dictionary=[c for c in schema.names if c not in HIGH_CARDINALITY],\n"
                '    compression="zstd",\n)\n```',
            ),
            (
                "perf",
                "Row-group size sweep:\n\n| row group | MB/s | file size |\n|---|---|---|\n"
                "| 64k rows | 88 | 1.00× |\n| 256k rows | 141 | 0.97× |\n"
                "| 1M rows | 149 | 0.96× |\n\n"
                "256k keeps memory bounded; 1M needs 2.1 GB per worker.",
            ),
            ("lead", "256k then. @perf what's the end-to-end gain?"),
            (
                "perf",
                "Ingest throughput 2.3× (41k → 94k events/s per worker); p99 flush "
                "latency 1.8 s → 0.6 s.",
                {"reply": 4},
            ),
            ("lead", "Ship it behind `WRITER_V2=1`, canary one shard for a day."),
        ],
    },
]


class FixedClock:
    """Stands in for the service's now_iso: a fixed start, a few minutes a step."""

    def __init__(self, start: datetime) -> None:
        self.now = start
        self.step = 0

    def __call__(self) -> str:
        self.step += 1
        self.now += timedelta(minutes=2 + self.step % 5, seconds=17 * self.step % 60)
        return self.now.isoformat(timespec="milliseconds")


class CountedIds:
    def __init__(self) -> None:
        self.count = 0

    def uuid4(self) -> uuid.UUID:
        self.count += 1
        return uuid.UUID(int=0x5EED << 96 | self.count, version=4)


async def build(service: ChatService) -> None:
    for spec in ROOMS:
        room = await service.init_room(
            spec["project"], spec["name"], spec.get("branch"), spec.get("description")
        )
        for name, task_id in spec["agents"].items():
            await service.register_agent(room["id"], name, task_id)
        ids: list[int] = []
        for sender, content, *rest in spec["messages"]:
            options = rest[0] if rest else {}
            posted = await service.post_message(
                room["id"],
                sender,
                content,
                "system" if options.get("system") else "message",
                ids[options["reply"]] if "reply" in options else None,
                metadata={"source": "web"} if options.get("web") else None,
            )
            ids.append(posted["id"])
        for sender, status in spec["statuses"].items():
            await service.update_status(room["id"], sender, status)
        await service.mark_read(room["id"], "human", ids[len(ids) // 2])
        if spec.get("archive"):
            await service.archive_room(spec["project"], spec["name"])


async def build_database(path: Path) -> None:
    hub = Hub()
    store = SqliteStore(path, on_commit=hub.publish)
    await store.open()
    try:
        await build(ChatService(store, hub))
    finally:
        await store.close()


def seed(path: Path) -> None:
    clock, ids = FixedClock(START), CountedIds()
    with ExitStack() as patches:
        # The service stamps new rooms; the store stamps messages, statuses, cursors.
        for module in ("chatnut.service.rooms", "chatnut.store.sqlite"):
            patches.enter_context(mock.patch(f"{module}.now_iso", clock))
        fake_uuid = SimpleNamespace(uuid4=ids.uuid4)
        patches.enter_context(mock.patch("chatnut.service.rooms.uuid", fake_uuid))
        asyncio.run(build_database(path))
    # One self-contained file to commit: no -wal / -shm beside it.
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute("VACUUM")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help=f"default: {DEFAULT_DB}")
    parser.add_argument("--reset", action="store_true", help="replace an existing database")
    args = parser.parse_args(argv)
    path: Path = args.db
    if path.exists():
        if not args.reset:
            print(f"{path} exists; pass --reset to rebuild it", file=sys.stderr)
            return 1
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    seed(path)
    print(
        f"built {path}: 2 projects, {len(ROOMS)} rooms, "
        f"{sum(len(r['messages']) for r in ROOMS)} messages"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
