-- huoti-server schema v3: privacy operations. Portable SQL (SQLite and PostgreSQL).

-- Identity data (name, ID number, phone) an integrator sends: a table of its own, sealed
-- under the subject's identity-domain key, apart from face data (L3, S2).
CREATE TABLE identities (
    subject_id TEXT PRIMARY KEY,
    integrator_id TEXT NOT NULL,
    sealed_hex TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Device info (P2), sealed under the session's device-domain key; never in clear.
CREATE TABLE session_devices (
    session_id TEXT PRIMARY KEY,
    sealed_hex TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

-- Retention (S1, S5, L2): when to look at a session again, and a claim so that several
-- nodes never process the same row twice.
ALTER TABLE sessions ADD COLUMN subject_deleted_at_ms BIGINT;
ALTER TABLE sessions ADD COLUMN retention_next_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN retention_claim TEXT;
ALTER TABLE sessions ADD COLUMN retention_claim_until_ms BIGINT;
CREATE INDEX sessions_retention ON sessions (retention_next_ms);

-- What remains of a verdict after its legal minimum: aggregates, no subject link, no device.
CREATE TABLE verdict_aggregates (
    day TEXT NOT NULL,
    integrator_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    fixed_challenge BIGINT NOT NULL,
    frames BIGINT NOT NULL,
    score_milli BIGINT,
    model_versions TEXT NOT NULL,
    anonymised_at_ms BIGINT NOT NULL
);

-- Incidents (S3) and the notice outbox.
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    recorded_at_ms BIGINT NOT NULL,
    request_json TEXT NOT NULL,
    affected_subjects BIGINT NOT NULL
);

CREATE TABLE notices (
    id TEXT PRIMARY KEY,
    incident_id TEXT,
    kind TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body_json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    sent_at_ms BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX notices_pending ON notices (sent_at_ms);

-- The disclosure ledger (D1–D6): who received what, when, on which ground.
CREATE TABLE disclosures (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    data_json TEXT NOT NULL,
    basis_json TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);

CREATE INDEX disclosures_by_subject ON disclosures (subject_id, at_ms);

-- Service-wide state, e.g. the wind-down (S6).
CREATE TABLE service_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    at_ms BIGINT NOT NULL
);
