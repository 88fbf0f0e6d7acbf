-- huoti-server schema v7: the table of API keys is named for what it holds. Portable SQL
-- (SQLite and PostgreSQL).
--
-- Since v2 every key has a role (integrator, operator, privacy_officer, ml_engineer, auditor),
-- so `integrators` held staff keys too. The rows are kept as they are; references from
-- `sessions` and `subjects` follow the table (PostgreSQL by table, SQLite rewrites them).
-- Columns named `integrator_id` elsewhere still hold the key of an integrator.
ALTER TABLE integrators RENAME TO api_keys;
