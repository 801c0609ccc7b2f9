-- Receipts of directed messages: one row per name in a message's `to`, made
-- by the trigger below in the post's own transaction. `ack_required` comes
-- from the message's metadata (post_message(..., ack_required=true));
-- `delivered_at` is set when a read, wait, inbox, handoff or push hands the
-- message to that name, `read_at` when that name's read cursor passes it
-- (triggers on read_cursors), `acked_at` by ack_message. Each is set once.
CREATE TABLE receipts (
    message_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    room_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    ack_required INTEGER NOT NULL DEFAULT 0,
    delivered_at TEXT,
    read_at TEXT,
    acked_at TEXT,
    PRIMARY KEY (message_id, name)
) WITHOUT ROWID;

-- What a cursor move still has to stamp, and what still awaits an ack (by
-- name across rooms, and by room): partial, so they hold only open rows.
CREATE INDEX idx_receipts_unread ON receipts(room_id, name, message_id)
    WHERE read_at IS NULL;
CREATE INDEX idx_receipts_awaiting_name ON receipts(name, message_id)
    WHERE ack_required = 1 AND acked_at IS NULL;
CREATE INDEX idx_receipts_awaiting_room ON receipts(room_id, message_id)
    WHERE ack_required = 1 AND acked_at IS NULL;

INSERT INTO receipts (message_id, name, room_id, created_at, ack_required)
SELECT m.id, j.value, m.room_id, m.created_at, 0
FROM messages m, json_each(m.recipients) j
WHERE m.recipients IS NOT NULL;

UPDATE receipts SET read_at = (
    SELECT max(c.updated_at) FROM read_cursors c
    WHERE c.room_id = receipts.room_id AND lower(trim(c.reader)) = receipts.name
      AND c.last_read_message_id >= receipts.message_id
);

CREATE TRIGGER receipts_insert AFTER INSERT ON messages
WHEN new.recipients IS NOT NULL BEGIN
    INSERT OR IGNORE INTO receipts (message_id, name, room_id, created_at, ack_required)
    SELECT new.id, value, new.room_id, new.created_at,
           coalesce(json_extract(new.metadata, '$.ack_required'), 0) = 1
    FROM json_each(new.recipients);
END;

CREATE TRIGGER receipts_delete AFTER DELETE ON messages
WHEN old.recipients IS NOT NULL BEGIN
    DELETE FROM receipts WHERE message_id = old.id;
END;

CREATE TRIGGER receipts_read_insert AFTER INSERT ON read_cursors BEGIN
    UPDATE receipts SET read_at = new.updated_at
    WHERE room_id = new.room_id AND name = lower(trim(new.reader))
      AND message_id <= new.last_read_message_id AND read_at IS NULL;
END;

CREATE TRIGGER receipts_read_update AFTER UPDATE OF last_read_message_id ON read_cursors
WHEN new.last_read_message_id > old.last_read_message_id BEGIN
    UPDATE receipts SET read_at = new.updated_at
    WHERE room_id = new.room_id AND name = lower(trim(new.reader))
      AND message_id <= new.last_read_message_id AND read_at IS NULL;
END;

-- Push: per agent name, the id of the last message its channel bridge pushed
-- (not its read cursor), and which bridge holds the right to push until when
-- (epoch seconds), so two bridges for one name never both push.
CREATE TABLE delivery_cursors (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL,
    holder TEXT,
    lease_until REAL NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
) WITHOUT ROWID;
