-- The groups the backfill and the bridge read, by id on their side, with their names: what
-- turns a wave's `groups` (names, as the plan writes them) into the group ids the KPI facts
-- (`kpi_tickets.group_id`) hold, so `cutover kpi --wave` needs no platform. A group renamed
-- keeps its row, with the name last read.
CREATE TABLE kpi_groups (
    side      TEXT NOT NULL CHECK (side IN ('old', 'new')),
    group_id  TEXT NOT NULL,
    name      TEXT NOT NULL,
    PRIMARY KEY (side, group_id)
);
