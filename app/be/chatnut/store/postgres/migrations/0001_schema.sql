-- The whole schema of chatnut on PostgreSQL: the same tables and columns as
-- SQLite's (timestamps and metadata as the text chatnut writes, so a copy
-- between backends is exact), plus the event stream that carries commits
-- between processes.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    project TEXT NOT NULL,
    branch TEXT,
    description TEXT,
    status TEXT NOT NULL DEFAULT 'live',
    created_at TEXT NOT NULL,
    archived_at TEXT,
    metadata TEXT,
    UNIQUE (project, name)
);
CREATE INDEX rooms_status_project ON rooms (status, project);
CREATE INDEX rooms_name_trgm ON rooms USING gin (name gin_trgm_ops);

-- Ids come from message_ids, taken under the write lock (see store/postgres).
CREATE SEQUENCE message_ids;
CREATE TABLE messages (
    id BIGINT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    content TEXT NOT NULL,
    message_type TEXT NOT NULL DEFAULT 'message',
    created_at TEXT NOT NULL,
    metadata TEXT,
    recipients TEXT,  -- the `to` names (JSON array), returned as `to`
    addressees TEXT   -- those plus the registered agents it @mentions (JSON array)
);
CREATE INDEX messages_room ON messages (room_id, id);
CREATE INDEX messages_room_type ON messages (room_id, message_type, id);
-- Substring search, as SQLite's FTS5 trigram index gives it.
CREATE INDEX messages_content_trgm ON messages USING gin (content gin_trgm_ops);

-- One row per addressee of a message: what addressed reads and the inbox look up.
CREATE TABLE message_recipients (
    name TEXT NOT NULL,
    message_id BIGINT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    room_id TEXT NOT NULL,
    PRIMARY KEY (name, message_id)
);
CREATE INDEX message_recipients_room ON message_recipients (room_id, name, message_id);
CREATE INDEX message_recipients_message ON message_recipients (message_id);

-- When a name last made a call on a room ('*': its inbox, for every room).
CREATE TABLE presence (
    room_id TEXT NOT NULL,
    name TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    PRIMARY KEY (room_id, name)
);

CREATE FUNCTION presence_room_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM presence WHERE room_id = OLD.id;
    RETURN NULL;
END $$;
CREATE TRIGGER presence_room_delete AFTER DELETE ON rooms
    FOR EACH ROW EXECUTE FUNCTION presence_room_delete();

CREATE TABLE read_cursors (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    last_read_message_id BIGINT NOT NULL DEFAULT 0 CHECK (last_read_message_id >= 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (room_id, reader)
);

CREATE TABLE room_status (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    sender TEXT NOT NULL,
    status TEXT NOT NULL CHECK (length(status) <= 500),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (room_id, sender)
);

CREATE TABLE agent_registry (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    agent_name TEXT NOT NULL,
    task_id TEXT NOT NULL,
    registered_at TEXT NOT NULL,
    PRIMARY KEY (room_id, agent_name)
);

-- Per-room counters (as SQLite's room_stats): the room list never counts messages.
CREATE TABLE room_stats (
    room_id TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    message_count BIGINT NOT NULL DEFAULT 0,
    last_message_id BIGINT
);

CREATE FUNCTION room_stats_room_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO room_stats (room_id, message_count, last_message_id)
        VALUES (NEW.id, 0, NULL) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER room_stats_room_insert AFTER INSERT ON rooms
    FOR EACH ROW EXECUTE FUNCTION room_stats_room_insert();

CREATE FUNCTION room_stats_message_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO room_stats (room_id, message_count, last_message_id)
        VALUES (NEW.room_id, 1, NEW.id)
    ON CONFLICT (room_id) DO UPDATE SET
        message_count = room_stats.message_count + 1,
        last_message_id = greatest(coalesce(room_stats.last_message_id, 0), NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER room_stats_message_insert AFTER INSERT ON messages
    FOR EACH ROW EXECUTE FUNCTION room_stats_message_insert();

-- A delete (clear_room, a cascade) recounts per statement, not per row.
CREATE FUNCTION room_stats_message_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE room_stats s SET
        message_count = (SELECT count(*) FROM messages m WHERE m.room_id = s.room_id),
        last_message_id = (SELECT max(id) FROM messages m WHERE m.room_id = s.room_id)
    WHERE s.room_id IN (SELECT DISTINCT room_id FROM gone);
    RETURN NULL;
END $$;
CREATE TRIGGER room_stats_message_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION room_stats_message_delete();

-- Every committed change, in commit order: what other processes read after a
-- NOTIFY (never the body: message events point at their message row).
CREATE TABLE events (
    seq BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    room_id TEXT NOT NULL,
    message_id BIGINT,
    data TEXT,
    at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE SEQUENCE event_seqs;
