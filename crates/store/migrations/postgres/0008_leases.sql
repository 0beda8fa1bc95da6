-- Leadership of `cutover serve` (one process leads: it runs the bridge and the other leader-only
-- work; the others serve HTTP). Times are microseconds since the epoch by the database's clock,
-- so processes whose clocks disagree still agree on who holds a lease.
CREATE TABLE leases (
    name        TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT NOT NULL,
    -- The fencing token: raised at every change of holder (and when a lease lapsed and is taken
    -- again), never lowered.
    token       BIGINT NOT NULL,
    since_us    BIGINT NOT NULL,
    renewed_us  BIGINT NOT NULL,
    expires_us  BIGINT NOT NULL
);

-- Webhook deliveries a process that does not run the bridge accepted: the records they name,
-- read by the leader's bridge on its next pass and removed once that pass is done.
CREATE TABLE webhook_hints (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    side        TEXT NOT NULL CHECK (side IN ('old', 'new')),
    kind        TEXT NOT NULL,
    record_id   TEXT NOT NULL,
    at_us       BIGINT NOT NULL
);
CREATE INDEX webhook_hints_side ON webhook_hints (side, id);
