-- A message edited keeps when (`edited_at`); a message deleted keeps its row as
-- a tombstone (`deleted_at`: its id, room, sender and time stay, so the
-- conversation around it still reads in order) with its content emptied. The
-- search index follows the content through the update trigger of 0002.
ALTER TABLE messages ADD COLUMN edited_at TEXT;
ALTER TABLE messages ADD COLUMN deleted_at TEXT;
