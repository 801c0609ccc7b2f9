-- Claims on files and tasks: project-wide (every room of the project sees
-- them), expiring on their own at `expires_at` (ISO-8601 UTC, compared as
-- text like every timestamp here). `paths`: a JSON array of git-style
-- patterns, sorted, each once; `holder`: the lower-cased agent name;
-- `room_id`: where it was claimed. No foreign key: a claim outlives the room
-- it was made in, until it expires or is released.
CREATE TABLE claims (
    id TEXT PRIMARY KEY,
    project TEXT NOT NULL,
    holder TEXT NOT NULL,
    paths TEXT NOT NULL,
    task TEXT,
    exclusive INTEGER NOT NULL CHECK (exclusive IN (0, 1)),
    note TEXT,
    room_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- A project's live claims: one range scan, whichever room asks.
CREATE INDEX claims_project ON claims(project, expires_at);
-- The expired ones, swept on each claim.
CREATE INDEX claims_expiry ON claims(expires_at);
