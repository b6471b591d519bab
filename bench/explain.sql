-- EXPLAIN (ANALYZE, BUFFERS) of the team screen's statement (bench/team.pgbench, as the server
-- sends it), and of the caller's read, for one (practitioner, child) pair, planned as the
-- server plans them: prepared, with parameters, under plan_cache_mode = force_generic_plan
-- (api/db/src/lib.rs), so the plans shown are the generic plans every request runs:
--   psql <bench database url> -f bench/explain.sql
--   psql <bench database url> -v me=<practitioner id> -v agency=<their agency id> \
--        -v child=<child id> -v agencies='{<agency id>,...}' -f bench/explain.sql
-- Without -v it takes the first pair `make bench` wrote to bench_pairs. (The screen's audit
-- event is inserted apart, with others: bench/audit_batch.pgbench.)
\set ON_ERROR_STOP on
\if :{?me}
\else
SELECT practitioner_id AS me, agency_id AS agency, child_id AS child, agencies
  FROM bench_pairs ORDER BY n LIMIT 1 \gset
\endif
SELECT current_date AS today \gset
\echo pair: practitioner :me (agency :agency), child :child, reading as :agencies

SET plan_cache_mode = force_generic_plan;
PREPARE caller(uuid, date) AS SELECT p.agency_id, p.role, ARRAY(SELECT s.from_agency_id FROM sharing_agreements s WHERE s.to_agency_id = p.agency_id AND s.revoked_at IS NULL AND s.starts_on <= $2 AND (s.ends_on IS NULL OR s.ends_on >= $2)) AS sharing FROM practitioners p WHERE p.active AND p.id = $1;
PREPARE screen(uuid, uuid[], uuid) AS WITH c AS (SELECT children.id, idn.given_name, idn.family_name, children.date_of_birth, idn.gender, idn.postcode, children.version FROM children CROSS JOIN LATERAL (SELECT ci.* FROM child_identities ci JOIN involvements iv ON iv.id = ci.involvement_id WHERE ci.child_id = children.id AND (iv.sensitivity = 'STANDARD' OR iv.practitioner_id = $1 OR iv.agency_id = ANY($2)) ORDER BY ci.recorded_at DESC, ci.id DESC LIMIT 1) idn WHERE children.id = $3 AND children.id IN (SELECT r.child_id FROM involvements r WHERE r.ended_on IS NULL AND (r.practitioner_id = $1))) SELECT c.*, (SELECT array_agg(ROW(member.involvement, member.practitioner, member.agency) ORDER BY member.n) FROM unnest(k.members) WITH ORDINALITY AS member(involvement, practitioner, agency, n) WHERE ((member.involvement).sensitivity = 'STANDARD' OR (member.involvement).practitioner_id = $1 OR (member.involvement).agency_id = ANY($2))) AS team, (SELECT array_agg(ROW(entry.task, entry.assignee) ORDER BY entry.n) FROM unnest(k.tasks) WITH ORDINALITY AS entry(task, assignee, namers, n) WHERE (NOT EXISTS (SELECT 1 FROM unnest(entry.namers) h WHERE TRUE AND NOT (h.sensitivity = 'STANDARD' OR h.practitioner_id = $1 OR h.agency_id = ANY($2))))) AS tasks FROM c JOIN child_teams k ON k.child_id = c.id;

\echo
\echo 1. the caller with the sharing agreements in force for their agency (only on the first request of a caller: then each process keeps it)
EXPLAIN (ANALYZE, BUFFERS) EXECUTE caller(:'me', :'today');

\echo 2. the team screen: the child, its team and its tasks
EXPLAIN (ANALYZE, BUFFERS) EXECUTE screen(:'me', :'agencies', :'child');
