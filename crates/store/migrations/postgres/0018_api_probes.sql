-- The continuity monitor's probes: one cheap authenticated read of each side's API (Zendesk
-- `users/me`, Freshdesk `agents/me`) at every `[monitor] every`, timed. Never a credential or a
-- body: the side, when (microseconds since 1970, by the monitor's clock), how long the answer
-- took, its HTTP status (NULL when none came) and whether it was a 2xx (1) or not (0).
CREATE TABLE api_probes (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    side    TEXT NOT NULL CHECK (side IN ('old', 'new')),
    at_us   BIGINT NOT NULL,
    millis  BIGINT NOT NULL,
    status  BIGINT,
    ok      BIGINT NOT NULL CHECK (ok IN (0, 1))
);
CREATE INDEX api_probes_at ON api_probes (at_us);
-- `channel_availability` reads the contacts accepted in a window.
CREATE INDEX contacts_received ON contacts (received_at);
