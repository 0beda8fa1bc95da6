-- The continuity monitor's alerts: one row per episode of one alert rule, opened when it is
-- raised (or found inconclusive) and closed when it clears. The evidence is the latest
-- comparison that changed it (values, baseline, sample sizes, the query window), as JSON.
-- Times are microseconds since the epoch, of the evaluator's clock (simulated in tests).
CREATE TABLE alerts (
    id         TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    kpi        TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('raised', 'inconclusive', 'cleared')),
    action     TEXT NOT NULL,
    opened_us  INTEGER NOT NULL,
    closed_us  INTEGER,
    updated_us INTEGER NOT NULL,
    evidence   TEXT NOT NULL
);
CREATE INDEX alerts_opened ON alerts (opened_us);
