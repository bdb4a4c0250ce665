-- How each part of redress is faring, for `redress health`, /metrics and the alerts: the last
-- success and the last error of fetching mail and of sending letters, since when it has been
-- failing, and when people were told.
CREATE TABLE service_health (
    component      TEXT    PRIMARY KEY,
    last_ok_at     BIGINT,
    last_error     TEXT,
    last_error_at  BIGINT,
    failing_since  BIGINT,
    alerted_at     BIGINT
);
