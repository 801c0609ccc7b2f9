-- Receipts of directed messages, as on SQLite (store/sqlite/migrations/
-- 0009_receipts_and_delivery.sql says what each column means): one row per
-- name in a message's `to`, made by a trigger in the post's own transaction,
-- `read_at` stamped by triggers on read_cursors.
CREATE TABLE receipts (
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    room_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ack_required BOOLEAN NOT NULL DEFAULT false,
    delivered_at TEXT,
    read_at TEXT,
    acked_at TEXT,
    PRIMARY KEY (message_id, name)
);
CREATE INDEX receipts_unread ON receipts (room_id, name, message_id) WHERE read_at IS NULL;
CREATE INDEX receipts_awaiting_name ON receipts (name, message_id)
    WHERE ack_required AND acked_at IS NULL;
CREATE INDEX receipts_awaiting_room ON receipts (room_id, message_id)
    WHERE ack_required AND acked_at IS NULL;

INSERT INTO receipts (message_id, name, room_id, created_at)
SELECT m.id, j.value, m.room_id, m.created_at
FROM messages m, json_array_elements_text(m.recipients::json) AS j (value)
WHERE m.recipients IS NOT NULL;

UPDATE receipts r SET read_at = (
    SELECT max(c.updated_at) FROM read_cursors c
    WHERE c.room_id = r.room_id AND lower(btrim(c.reader)) = r.name
      AND c.last_read_message_id >= r.message_id
);

CREATE FUNCTION receipts_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO receipts (message_id, name, room_id, created_at, ack_required)
    SELECT NEW.id, j.value, NEW.room_id, NEW.created_at,
           coalesce((NEW.metadata::json ->> 'ack_required')::boolean, false)
    FROM json_array_elements_text(NEW.recipients::json) AS j (value)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER receipts_insert AFTER INSERT ON messages
    FOR EACH ROW WHEN (NEW.recipients IS NOT NULL) EXECUTE FUNCTION receipts_insert();

CREATE FUNCTION receipts_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE receipts SET read_at = NEW.updated_at
    WHERE room_id = NEW.room_id AND name = lower(btrim(NEW.reader))
      AND message_id <= NEW.last_read_message_id AND read_at IS NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER receipts_read_insert AFTER INSERT ON read_cursors
    FOR EACH ROW EXECUTE FUNCTION receipts_read();
CREATE TRIGGER receipts_read_update AFTER UPDATE OF last_read_message_id ON read_cursors
    FOR EACH ROW WHEN (NEW.last_read_message_id > OLD.last_read_message_id)
    EXECUTE FUNCTION receipts_read();

-- Push: per agent name, the last message id its channel bridge pushed and
-- which bridge may push until when (epoch seconds).
CREATE TABLE delivery_cursors (
    name TEXT PRIMARY KEY,
    last_id BIGINT NOT NULL,
    holder TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
