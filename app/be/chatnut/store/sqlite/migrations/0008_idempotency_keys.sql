-- A post's idempotency key (store/sqlite/idempotency.py): a retried post with
-- the same key, by the same sender, in the same room, within a day, returns
-- the message the first one stored instead of storing another.
CREATE TABLE IF NOT EXISTS idempotency_keys (
    room_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    key TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    created_at TEXT NOT NULL,  -- UTC ISO 8601, as every time chatnut stores
    PRIMARY KEY (room_id, sender, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys(created_at);
