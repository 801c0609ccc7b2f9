-- Per-room message count and newest message id, kept by triggers, so the room
-- list and the sidebar never count messages: listing 10 000 rooms reads one
-- row per room, and one post changes one row.
CREATE TABLE room_stats (
    room_id TEXT PRIMARY KEY REFERENCES rooms(id) ON DELETE CASCADE,
    message_count INTEGER NOT NULL DEFAULT 0,
    last_message_id INTEGER
);

INSERT INTO room_stats (room_id, message_count, last_message_id)
    SELECT r.id, count(m.id), max(m.id) FROM rooms r LEFT JOIN messages m ON m.room_id = r.id
    GROUP BY r.id;

CREATE TRIGGER room_stats_room_insert AFTER INSERT ON rooms BEGIN
    INSERT OR IGNORE INTO room_stats (room_id, message_count, last_message_id)
        VALUES (new.id, 0, NULL);
END;

CREATE TRIGGER room_stats_message_insert AFTER INSERT ON messages BEGIN
    INSERT INTO room_stats (room_id, message_count, last_message_id) VALUES (new.room_id, 1, new.id)
    ON CONFLICT (room_id) DO UPDATE SET
        message_count = message_count + 1,
        last_message_id = max(coalesce(last_message_id, 0), new.id);
END;

-- A delete recomputes the newest id from the (room_id, id) index: one seek.
CREATE TRIGGER room_stats_message_delete AFTER DELETE ON messages BEGIN
    UPDATE room_stats SET
        message_count = max(message_count - 1, 0),
        last_message_id = (SELECT max(id) FROM messages WHERE room_id = old.room_id)
    WHERE room_id = old.room_id;
END;
