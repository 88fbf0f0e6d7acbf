-- huoti-server schema v2: the consent ledger (A1, A3, C6, L1, L2, P2, R4, U2).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL (BIGINT flags and Unix-ms times).

-- Published versions of the privacy policy; the text is kept so a consent proves which words
-- were agreed to (digest = sha256 of text).
CREATE TABLE policy_versions (
    version TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    digest TEXT NOT NULL,
    material_change BIGINT NOT NULL,
    published_at_ms BIGINT NOT NULL,
    privacy_contact TEXT NOT NULL,
    share_with TEXT NOT NULL
);

-- A person, pseudonymously: the integrator's subject_ref, or (without one) a single session.
CREATE TABLE subjects (
    id TEXT PRIMARY KEY,
    integrator_id TEXT NOT NULL REFERENCES integrators(id),
    subject_ref TEXT,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (integrator_id, subject_ref)
);

ALTER TABLE sessions ADD COLUMN subject_id TEXT;
CREATE INDEX sessions_by_subject ON sessions (subject_id);

-- One row per scope of one act of consent; withdrawal sets withdrawn_at_ms (never deleted:
-- the ledger proves what was agreed and when).
CREATE TABLE consents (
    consent_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    session_id TEXT,
    policy_version TEXT NOT NULL REFERENCES policy_versions(version),
    channel TEXT NOT NULL,
    granted_at_ms BIGINT NOT NULL,
    withdrawn_at_ms BIGINT,
    PRIMARY KEY (consent_id, scope)
);
CREATE INDEX consents_by_subject ON consents (subject_id, scope);

-- Face images kept for training (only with retain_for_training, L2), sealed under the
-- subject's own data key in the blob store at <subject_id>/...
CREATE TABLE training_images (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    session_id TEXT NOT NULL,
    blob_key TEXT NOT NULL,
    kept_at_ms BIGINT NOT NULL
);
CREATE INDEX training_images_by_subject ON training_images (subject_id);

-- Staff roles (S2, least privilege): every API key has one role. Integrators keep theirs.
ALTER TABLE integrators ADD COLUMN role TEXT NOT NULL DEFAULT 'integrator';

-- The hash-chained, append-only audit log of staff access to personal data (S2, C4).
-- seq is the primary key: two nodes appending at once collide and one retries.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    purpose TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);

-- Short-lived links that let a person reach their own data on the /privacy page (R1-R9).
CREATE TABLE link_tokens (
    token_hash TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    expires_at_ms BIGINT NOT NULL
);

-- Rights requests and complaints (R1-R9), with their due dates (China dates, YYYY-MM-DD).
CREATE TABLE rights_requests (
    id TEXT PRIMARY KEY,
    subject_id TEXT NOT NULL REFERENCES subjects(id),
    kind TEXT NOT NULL,
    field TEXT,
    verified_field BIGINT NOT NULL,
    unlawful BIGINT NOT NULL,
    details TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    identity_verified_at_ms BIGINT,
    due_date TEXT,
    refusal_ground TEXT,
    refusal_explanation TEXT,
    closed_at_ms BIGINT
);
CREATE INDEX rights_requests_open ON rights_requests (status);

-- Training samples (C4): asked by an ML engineer, approved by another person (privacy
-- officer), picked at random at approval, exportable decrypted until expires_at_ms.
CREATE TABLE training_samples (
    id TEXT PRIMARY KEY,
    requester TEXT NOT NULL,
    size BIGINT NOT NULL,
    purpose TEXT NOT NULL,
    requested_at_ms BIGINT NOT NULL,
    approver TEXT,
    approved_at_ms BIGINT,
    expires_at_ms BIGINT,
    picked TEXT
);
