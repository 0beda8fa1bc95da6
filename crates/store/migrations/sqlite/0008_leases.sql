-- Leadership of `cutover serve` (one process leads: it runs the bridge and the other leader-only
-- work; the others serve HTTP). Times are microseconds since the epoch by the database's clock,
-- so processes whose clocks disagree still agree on who holds a lease.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    -- The fencing token: raised at every change of holder (and when a lease lapsed and is taken
    -- again), never lowered.
    token       INTEGER NOT NULL,
    since_us    INTEGER NOT NULL,
    renewed_us  INTEGER NOT NULL,
    expires_us  INTEGER NOT NULL
);

-- Webhook deliveries a process that does not run the bridge accepted: the records they name,
-- read by the leader's bridge on its next pass and removed once that pass is done.
CREATE TABLE webhook_hints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    side        TEXT NOT NULL CHECK (side IN ('old', 'new')),
    kind        TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    at_us       INTEGER NOT NULL
);
CREATE INDEX webhook_hints_side ON webhook_hints (side, id);
