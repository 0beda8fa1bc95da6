-- Per-ticket facts the continuity monitor computes its KPIs from: one row per ticket and side,
-- upserted whenever the backfill or the bridge reads the ticket (with its comments). Taken from
-- canonical records, never from a platform's JSON. Times are microseconds since the epoch.
CREATE TABLE kpi_tickets (
    side            TEXT NOT NULL CHECK (side IN ('old', 'new')),
    ticket_id       TEXT NOT NULL,
    channel         TEXT NOT NULL,
    group_id        TEXT,
    assignee_id     TEXT,
    -- The priority's rank (1 low, 2 normal, 3 high, 4 urgent), when it has one.
    priority_rank   INTEGER,
    created_us      INTEGER NOT NULL,
    first_reply_us  INTEGER,
    -- Public replies by anyone but the requester, as last read.
    agent_replies   INTEGER NOT NULL DEFAULT 0,
    solved_us       INTEGER,
    -- How often it was seen unsolved after it had been seen solved.
    reopened        INTEGER NOT NULL DEFAULT 0,
    -- 1 once its priority was seen raised, or its group seen changed.
    priority_raised INTEGER NOT NULL DEFAULT 0,
    reassigned      INTEGER NOT NULL DEFAULT 0,
    satisfaction    INTEGER CHECK (satisfaction BETWEEN 1 AND 5),
    seen_us         INTEGER NOT NULL,
    PRIMARY KEY (side, ticket_id)
);
CREATE INDEX kpi_tickets_created ON kpi_tickets (created_us);
CREATE INDEX kpi_tickets_solved ON kpi_tickets (solved_us);
