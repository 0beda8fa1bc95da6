-- The continuity monitor's outbox of actions: what an alert's change must do (page, pause or
-- roll back a wave, switch a channel to its backup), written in the same transaction as the
-- alert, so a process that dies before acting leaves the action pending; the leader runs each
-- pending action and marks it done (with its result) in the same transaction as its audit
-- entry, so each is audited once. Times are microseconds since the epoch.
CREATE TABLE alert_actions (
    id         TEXT PRIMARY KEY,
    alert      TEXT NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT,
    details    TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    done_us    INTEGER,
    result     TEXT
);
CREATE INDEX alert_actions_pending ON alert_actions (done_us, created_us);
