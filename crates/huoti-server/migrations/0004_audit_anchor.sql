-- huoti-server schema v4: audit log retention (L5). Portable SQL (SQLite and PostgreSQL).

-- Audit entries older than `retention.audit_log_days` (at least 3 years) are deleted as a
-- prefix of the chain; the last deleted entry's sequence number and hash stay here, so the
-- kept remainder still verifies (huoti_privacy::audit::verify_from) and writing continues
-- from it. One row, id 1; it only ever moves forward.
CREATE TABLE audit_anchor (
    id INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL,
    pruned_at_ms BIGINT NOT NULL
);
