-- huoti-server schema v1. Portable SQL: runs unchanged on SQLite and PostgreSQL.
-- Integers are BIGINT (0/1 for flags), text is TEXT, times are Unix milliseconds.

CREATE TABLE integrators (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    integrator_id TEXT NOT NULL REFERENCES integrators(id),
    token_hash TEXT NOT NULL,
    plan_json TEXT NOT NULL,
    fixed_challenge BIGINT NOT NULL,
    state TEXT NOT NULL,
    correlation_id TEXT,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    frame_count BIGINT NOT NULL,
    device_model TEXT,
    device_os_type TEXT,
    device_os_version TEXT,
    completed_at_ms BIGINT,
    decision TEXT,
    verdict_json TEXT,
    result_jws TEXT
);

CREATE INDEX sessions_expires ON sessions (expires_at_ms);

-- Frame metadata; the encrypted pixels live in the blob store, deleted after the verdict (L2).
CREATE TABLE frames (
    session_id TEXT NOT NULL REFERENCES sessions(id),
    seq BIGINT NOT NULL,
    t_ms BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, seq)
);

-- Wrapped per-subject data keys (envelope encryption; deleting a row crypto-shreds the
-- subject's blobs). Biometric domain only here; identity data has its own keys (L3).
CREATE TABLE subject_keys (
    subject_id TEXT NOT NULL,
    domain TEXT NOT NULL,
    kek_id TEXT NOT NULL,
    wrapped_hex TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (subject_id, domain)
);

-- Failed sessions per correlation id, for the abuse lock (pruned after the window).
CREATE TABLE failures (
    correlation_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE INDEX failures_by_id ON failures (correlation_id, at_ms);
