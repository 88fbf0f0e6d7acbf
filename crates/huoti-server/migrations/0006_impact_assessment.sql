-- huoti-server schema v6: the impact assessment behind each policy version (L5). Portable SQL.
--
-- A version that changes how personal data is processed (material_change) is published only
-- with an assessment completed on or before its publication day; policy versions are never
-- deleted, so the record is kept far beyond the 3 years PIPL art. 56 asks.
ALTER TABLE policy_versions ADD COLUMN assessment_reference TEXT;
ALTER TABLE policy_versions ADD COLUMN assessment_completed_on TEXT;
