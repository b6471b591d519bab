-- A deterministic fictional county for benchmarks, generated set-based.
-- psql variables: scale (1 = 200,000 children), hash (the argon2id hash every practitioner gets).
-- Ids are md5-derived from row numbers, so two runs at one scale make the same county.
\set ON_ERROR_STOP on
SET synchronous_commit = off;

SELECT (150)::int AS n_agencies,
       greatest(300, round(8000 * :scale))::int AS n_practitioners,
       greatest(10, round(200000 * :scale))::int AS n_children,
       greatest(10, round(2000000 * :scale))::int AS n_contacts,
       greatest(10, round(300000 * :scale))::int AS n_tasks
\gset
-- 3.5 involvements per child on average: three for every child, a fourth for every other one.
SELECT :n_children * 3 + :n_children / 2 AS n_involvements \gset

CREATE OR REPLACE FUNCTION pg_temp.uid(kind text, n bigint) RETURNS uuid
    LANGUAGE sql IMMUTABLE AS $$ SELECT md5(kind || ':' || n)::uuid $$;
-- The practitioner of involvement k (0..3) of child c: distinct for distinct k.
CREATE OR REPLACE FUNCTION pg_temp.prac(c bigint, k bigint, n bigint) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$ SELECT (c * 7919 + k * 729) % n $$;

-- Agencies: every tenth is sensitive (substance misuse or domestic abuse).
INSERT INTO agencies (id, name, kind, sensitive, email, phone)
SELECT pg_temp.uid('agency', a),
       format('%s %s', (ARRAY['Northmoor','Eastwick','Saltmarsh','Highcombe','Larkfield','Brookhaven',
                              'Westerleigh','Fenbridge','Oakhollow','Rivermead'])[1 + a % 10],
              CASE WHEN a % 10 = 0 THEN (ARRAY['Recovery Service','Domestic Abuse Service'])[1 + (a / 10) % 2]
                   ELSE (ARRAY['Primary School','Health Visiting','Police Safeguarding','Housing',
                               'Youth Service','Children''s Social Care','Early Years','Probation',
                               'Family Support'])[1 + a % 9] END) || ' ' || a,
       CASE WHEN a % 10 = 0 THEN (ARRAY['SUBSTANCE_MISUSE','DOMESTIC_ABUSE'])[1 + (a / 10) % 2]
            ELSE (ARRAY['EDUCATION','HEALTH','POLICE','HOUSING','YOUTH','SOCIAL_CARE','EARLY_YEARS',
                        'PROBATION','VOLUNTARY'])[1 + a % 9] END,
       a % 10 = 0,
       format('office%s@agency%s.bench.example', a, a),
       format('01632 %s', lpad((a * 37 % 1000000)::text, 6, '0'))
FROM generate_series(0, :n_agencies - 1) a;


INSERT INTO practitioners (id, agency_id, display_name, email, job_title, phone, mobile, role, password_hash)
SELECT pg_temp.uid('practitioner', p), pg_temp.uid('agency', p % :n_agencies),
       format('%s %s', (ARRAY['Alex','Sam','Jordan','Morgan','Casey','Robin','Jamie','Taylor','Riley','Avery',
                              'Quinn','Rowan','Harper','Elliot','Frankie','Charlie'])[1 + p % 16],
              (ARRAY['Ashdown','Brightwell','Coldharbour','Dunmore','Elmstead','Foxley','Greyfriars',
                     'Hollins','Ivesley','Juniper','Kettering','Linwood'])[1 + (p / 16) % 12]),
       format('p%s@agency%s.bench.example', p, p % :n_agencies),
       'Practitioner',
       format('01632 %s', lpad((p * 7 % 1000000)::text, 6, '0')),
       format('07700 %s', lpad((p * 13 % 1000000)::text, 6, '0')),
       CASE WHEN p < :n_agencies THEN 'AGENCY_ADMIN' ELSE 'PRACTITIONER' END,
       :'hash'
FROM generate_series(0, :n_practitioners - 1) p;

-- Sharing agreements: each sensitive agency grants five others (made by its admin).
INSERT INTO sharing_agreements (id, from_agency_id, to_agency_id, purpose, starts_on, created_by)
SELECT pg_temp.uid('agreement', a * 10 + g), pg_temp.uid('agency', a),
       pg_temp.uid('agency', (a + 1 + g * 7) % :n_agencies), 'Joint safeguarding work',
       DATE '2025-01-01', pg_temp.uid('practitioner', a)
FROM generate_series(0, :n_agencies - 1, 10) a, generate_series(0, 4) g;

-- Each child's details, recorded below through every one of its involvements (identity per
-- source: here every agency knows the child alike).
CREATE TEMP TABLE child_names AS
SELECT c,
       (ARRAY['Oliver','Amelia','Noah','Isla','Leo','Ava','Arthur','Mia','Oscar','Ivy','Theo','Freya',
              'Finley','Elsie','Ezra','Rosie','Hugo','Ada','Jude','Nell'])[1 + c % 20] AS given_name,
       (ARRAY['Marsh','Whitlock','Penrose','Thackeray','Ollerton','Brackley','Cawthorne','Dimmock',
              'Fairweather','Gransden','Hebden','Kilburn','Lowther','Merriman','Nettleship','Pendleton',
              'Quarrie','Rushworth','Stainton','Tolhurst','Underwood','Vickery','Wheatcroft','Yardley'])
           [1 + (c / 20) % 24] || CASE WHEN c % 7 = 0 THEN '-' || (ARRAY['Hale','Bury','Cross'])[1 + c % 3] ELSE '' END AS family_name,
       DATE '2008-01-01' + (c * 37 % 6200) AS date_of_birth,
       format('KB%s %s%s', 1 + c % 9, c % 10, chr(65 + c % 26) || chr(65 + (c / 26) % 26)) AS postcode
FROM generate_series(0, :n_children - 1) c;

INSERT INTO children (id, date_of_birth)
SELECT pg_temp.uid('child', c), date_of_birth FROM child_names;

-- Involvement ix: child ix % n_children, k = ix / n_children.
INSERT INTO involvements (id, child_id, practitioner_id, agency_id, role, sensitivity, is_lead,
                          started_on, last_contact_at, next_contact_at)
SELECT pg_temp.uid('involvement', ix), pg_temp.uid('child', c), pg_temp.uid('practitioner', p),
       pg_temp.uid('agency', p % :n_agencies),
       (ARRAY['Class teacher','Health visitor','Social worker','Youth worker','Housing officer'])[1 + (ix % 5)],
       CASE WHEN p % :n_agencies % 10 = 0 THEN 'RESTRICTED' ELSE 'STANDARD' END,
       k = 0 AND p % :n_agencies % 10 <> 0 AND c % 3 = 0,
       DATE '2024-01-01' + (ix % 600),
       TIMESTAMPTZ '2026-06-01' + (ix % 150) * interval '1 day',
       CASE WHEN ix % 4 = 0 THEN TIMESTAMPTZ '2026-12-01' + (ix % 60) * interval '1 day' END
FROM (SELECT ix, ix % :n_children AS c, ix / :n_children AS k,
             pg_temp.prac(ix % :n_children, ix / :n_children, :n_practitioners) AS p
      FROM generate_series(0, :n_involvements - 1) ix) s;

INSERT INTO child_identities (id, child_id, involvement_id, given_name, family_name, postcode,
                              recorded_at)
SELECT pg_temp.uid('identity', ix), pg_temp.uid('child', n.c), pg_temp.uid('involvement', ix),
       n.given_name, n.family_name, n.postcode, TIMESTAMPTZ '2024-01-01' + (ix % 600) * interval '1 day'
FROM generate_series(0, :n_involvements - 1) ix JOIN child_names n ON n.c = ix % :n_children;

INSERT INTO contacts (id, involvement_id, kind, outcome, at, recorded_by)
SELECT pg_temp.uid('contact', j), pg_temp.uid('involvement', ix),
       (ARRAY['HOME_VISIT','OFFICE_VISIT','SCHOOL_VISIT','PHONE','VIDEO','MEETING'])[1 + j % 6],
       (ARRAY['HAPPENED','HAPPENED','HAPPENED','PLANNED','CANCELLED','WAS_NOT_BROUGHT','NO_ACCESS'])[1 + j % 7],
       TIMESTAMPTZ '2025-01-01' + (j % 600) * interval '1 day',
       pg_temp.uid('practitioner', pg_temp.prac(ix % :n_children, ix / :n_children, :n_practitioners))
FROM (SELECT j, j % :n_involvements AS ix FROM generate_series(0, :n_contacts - 1) j) s;

-- Tasks: created by the child's first involvement's practitioner, assigned to the second's.
INSERT INTO tasks (id, child_id, title, assignee_id, created_by, due_on, status, closed_at, closed_by)
SELECT pg_temp.uid('task', t), pg_temp.uid('child', c),
       (ARRAY['Arrange a review meeting','Share the health plan','Check school attendance',
              'Follow up the home visit','Refer to family support'])[1 + t % 5],
       pg_temp.uid('practitioner', pg_temp.prac(c, 1, :n_practitioners)),
       pg_temp.uid('practitioner', pg_temp.prac(c, 0, :n_practitioners)),
       DATE '2026-11-01' + (t % 90),
       CASE WHEN t % 10 < 7 THEN 'OPEN' ELSE 'DONE' END,
       CASE WHEN t % 10 < 7 THEN NULL ELSE TIMESTAMPTZ '2026-10-01' END,
       CASE WHEN t % 10 < 7 THEN NULL ELSE pg_temp.uid('practitioner', pg_temp.prac(c, 1, :n_practitioners)) END
FROM (SELECT t, (t * 7) % :n_children AS c FROM generate_series(0, :n_tasks - 1) t) s;

ANALYZE;
