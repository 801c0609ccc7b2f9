-- Each process's parked named waits, so that presence's `waiting` is the same
-- on every worker and host (store/postgres/parked.py). UNLOGGED: no WAL, so a
-- publication never waits on a disk flush, and a crash of PostgreSQL empties
-- them, which is right (every wait ended with its connection anyway).
CREATE UNLOGGED TABLE parked_workers (
    worker TEXT PRIMARY KEY,
    beat TIMESTAMPTZ NOT NULL  -- the database's clock: no skew between hosts
);

CREATE UNLOGGED TABLE parked_waits (
    room_id TEXT NOT NULL,  -- or '*': parked on the name's inbox (check_inbox)
    name TEXT NOT NULL,
    worker TEXT NOT NULL REFERENCES parked_workers (worker) ON DELETE CASCADE,
    PRIMARY KEY (room_id, name, worker)
);
CREATE INDEX parked_waits_worker ON parked_waits (worker);
