-- Addressed messages. `recipients`: the names a message was posted `to` (JSON array,
-- lower-cased; what reads return as `to`). `addressees`: those plus the
-- registered agents it @mentions — who it is addressed to. Each addressee
-- also has a row below, which is what `addressed_to` and the inbox look up by
-- index: a filtered read of a 10 000-message room touches only the rows
-- addressed to that name. Both NULL on a message addressed to no one.
ALTER TABLE messages ADD COLUMN recipients TEXT;
ALTER TABLE messages ADD COLUMN addressees TEXT;

CREATE TABLE message_recipients (
    name TEXT NOT NULL,
    message_id INTEGER NOT NULL,
    room_id TEXT NOT NULL,
    PRIMARY KEY (name, message_id)
) WITHOUT ROWID;

-- One room's messages for one name (addressed_to); the key above serves the
-- inbox, which spans every room.
CREATE INDEX idx_recipients_room ON message_recipients(room_id, name, message_id);

-- Only addressed messages have rows; the key finds them without an index on
-- message_id. Room deletes cascade to messages, so this covers them too.
CREATE TRIGGER message_recipients_delete AFTER DELETE ON messages
WHEN old.addressees IS NOT NULL BEGIN
    DELETE FROM message_recipients
    WHERE name IN (SELECT value FROM json_each(old.addressees)) AND message_id = old.id;
END;

-- When a name last made a call on a room (presence). Written throttled by the
-- service, which holds the fresh values in memory; room_id '*' is a name's
-- inbox, which counts for every room.
CREATE TABLE presence (
    room_id TEXT NOT NULL,
    name TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (room_id, name)
) WITHOUT ROWID;

CREATE TRIGGER presence_room_delete AFTER DELETE ON rooms BEGIN
    DELETE FROM presence WHERE room_id = old.id;
END;
