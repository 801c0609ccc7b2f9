-- Retention overrides: how many days a project's rooms (room '') or one room
-- keep their messages; days NULL is "off" (kept forever, whatever the server's
-- --retain-days says). The most specific row wins: room, then project.
CREATE TABLE retention_rules (
    project TEXT NOT NULL,
    room TEXT NOT NULL DEFAULT '',
    days INTEGER CHECK (days IS NULL OR days > 0),
    updated_at TEXT NOT NULL,
    PRIMARY KEY (project, room)
) WITHOUT ROWID;
