-- How far retention has purged each room, for the live feeds. Every message of
-- the room with an id up to through_id is gone; `mark` is the newest message id
-- handed out when that was recorded, so a stream resuming after message L is
-- told of each purge with mark >= L (one it may have missed while away).
CREATE TABLE room_purges (
    room_id TEXT PRIMARY KEY REFERENCES rooms (id) ON DELETE CASCADE,
    through_id INTEGER NOT NULL,
    mark INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX room_purges_by_mark ON room_purges (mark);
