-- Threads, as on SQLite (store/sqlite/migrations/0015_threads.sql): a reply
-- names its parent in its metadata (`reply_to`), and the page's reply counts
-- and thread reads look replies up by (room, parent) in this partial index.
--
-- The metadata is text (as chatnut writes it, so a copy between backends is
-- exact) and may not be JSON at all (the original's free text, copied over):
-- the parent is read by a function that answers NULL for anything but a
-- top-level integer `reply_to`, rather than fail the insert. It is
-- immutable, as an index expression must be; most messages skip the parse.
CREATE FUNCTION message_reply_to(metadata TEXT) RETURNS BIGINT
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF metadata IS NULL OR strpos(metadata, '"reply_to"') = 0 THEN
        RETURN NULL;
    END IF;
    BEGIN
        RETURN (metadata::jsonb ->> 'reply_to')::bigint;
    EXCEPTION WHEN others THEN
        RETURN NULL;
    END;
END $$;

CREATE INDEX messages_reply_to ON messages (room_id, message_reply_to(metadata), id)
    WHERE message_reply_to(metadata) IS NOT NULL;
