DROP INDEX practitioners_staff_ref_key;
ALTER TABLE practitioners DROP COLUMN staff_ref;
DROP TABLE agency_contacts;
DROP TABLE agency_involvements;
DROP TABLE agency_children;
