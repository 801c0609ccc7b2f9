-- A post's idempotency key (store/postgres/idempotency.py): a retried post with
-- the same key, by the same sender, in the same room, within a day, returns
-- the message the first one stored instead of storing another. Checked and
-- written under the write lock, so two workers cannot both store one.
CREATE TABLE idempotency_keys (
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    key TEXT NOT NULL,
    message_id BIGINT NOT NULL,
    created_at TEXT NOT NULL,  -- UTC ISO 8601, as every time chatnut stores
    PRIMARY KEY (room_id, sender, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
