-- How each part of redress is faring, for `redress health`, /metrics and the alerts: the last
-- success and the last error of fetching mail and of sending letters, since when it has been
-- failing, and when people were told.
CREATE TABLE service_health (
    component      TEXT    PRIMARY KEY,
    last_ok_at     INTEGER,
    last_error     TEXT,
    last_error_at  INTEGER,
    failing_since  INTEGER,
    alerted_at     INTEGER
);
