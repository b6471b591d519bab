-- Each child's team and tasks, kept ready for the team screen: one row per child, replaced by
-- triggers in the same transaction as every write that changes what it holds. The team
-- screen reads this row by primary key instead of joining involvements, practitioners,
-- agencies and tasks on every request. It holds everything, hidden services included: the
-- access rules are applied to it on every read, by the same policy fragments as over the
-- tables (api/core/src/policy.rs).

-- The records, in the columns (and their order) of the rows the server decodes: InvolvementRow,
-- PractitionerRow, AgencyRow and TaskRow (checked by tests/api/kept_teams.rs).
CREATE TYPE kept_involvement AS (
    id uuid, child_id uuid, practitioner_id uuid, agency_id uuid, role text, sensitivity text,
    consent text, lawful_basis text, is_lead boolean, started_on date, ended_on date,
    last_contact_at timestamptz, next_contact_at timestamptz, version integer,
    created_at timestamptz
);
CREATE TYPE kept_practitioner AS (
    id uuid, agency_id uuid, display_name text, email text, job_title text, phone text,
    mobile text, role text, active boolean, version integer
);
CREATE TYPE kept_agency AS (
    id uuid, name text, kind text, sensitive boolean, email text, phone text, version integer
);
CREATE TYPE kept_task AS (
    id uuid, child_id uuid, title text, description text, assignee_id uuid, created_by uuid,
    due_on date, status text, version integer, created_at timestamptz
);
-- An involvement, active or ended, of a practitioner a task names, with what rule 3 decides
-- its visibility by: rule 6 hides the task from whoever may not see one of them.
CREATE TYPE kept_namer AS (sensitivity text, practitioner_id uuid, agency_id uuid);
CREATE TYPE kept_member AS (
    involvement kept_involvement, practitioner kept_practitioner, agency kept_agency
);
CREATE TYPE kept_task_entry AS (
    task kept_task, assignee kept_practitioner, namers kept_namer[]
);

CREATE TABLE child_teams (
    child_id uuid PRIMARY KEY REFERENCES children (id) ON DELETE CASCADE,
    -- The active involvements, lead first, then by start and id.
    members kept_member[] NOT NULL DEFAULT '{}',
    -- Every task, by due date (none last), creation and id.
    tasks kept_task_entry[] NOT NULL DEFAULT '{}'
);

-- The members of the child `child` as the tables hold them now.
CREATE FUNCTION child_team_members(child uuid) RETURNS kept_member[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(ROW(
            ROW(i.id, i.child_id, i.practitioner_id, i.agency_id, i.role, i.sensitivity, i.consent,
                i.lawful_basis, i.is_lead, i.started_on, i.ended_on, i.last_contact_at,
                i.next_contact_at, i.version, i.created_at)::kept_involvement,
            ROW(p.id, p.agency_id, p.display_name, p.email, p.job_title, p.phone, p.mobile, p.role,
                p.active, p.version)::kept_practitioner,
            ROW(a.id, a.name, a.kind, a.sensitive, a.email, a.phone, a.version)::kept_agency
        )::kept_member ORDER BY i.is_lead DESC, i.started_on, i.id), '{}')
        FROM involvements i
        JOIN practitioners p ON p.id = i.practitioner_id
        JOIN agencies a ON a.id = i.agency_id
        WHERE i.child_id = child AND i.ended_on IS NULL
    );
END
$$;

-- The tasks of the child `child` as the tables hold them now.
CREATE FUNCTION child_team_tasks(child uuid) RETURNS kept_task_entry[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(array_agg(ROW(
            ROW(t.id, t.child_id, t.title, t.description, t.assignee_id, t.created_by, t.due_on,
                t.status, t.version, t.created_at)::kept_task,
            CASE WHEN p.id IS NULL THEN NULL ELSE ROW(p.id, p.agency_id, p.display_name, p.email,
                p.job_title, p.phone, p.mobile, p.role, p.active, p.version)::kept_practitioner END,
            ARRAY(SELECT ROW(h.sensitivity, h.practitioner_id, h.agency_id)::kept_namer
                  FROM involvements h
                  WHERE h.child_id = t.child_id AND h.practitioner_id IN (t.created_by, t.assignee_id)
                  ORDER BY h.id)
        )::kept_task_entry ORDER BY t.due_on NULLS LAST, t.created_at, t.id), '{}')
        FROM tasks t LEFT JOIN practitioners p ON p.id = t.assignee_id
        WHERE t.child_id = child
    );
END
$$;

-- Replaces the kept rows of the children `ids`. Each row is locked (in id order, so that
-- two writers never wait on each other in a cycle) before it is computed: under READ
-- COMMITTED the computing statement then sees every write committed before the lock was
-- granted, so two concurrent writes to one child's team cannot overwrite each other's.
--
-- It runs as the owner of the schema: the server's own role may read the kept rows but not
-- write them (api/db/src/roles.rs), so they change only through these triggers.
CREATE FUNCTION child_teams_refresh(ids uuid[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    INSERT INTO child_teams (child_id)
    SELECT c.id FROM children c JOIN (SELECT DISTINCT unnest(ids) AS id) x ON x.id = c.id
    ON CONFLICT (child_id) DO NOTHING;
    PERFORM 1 FROM child_teams k JOIN (SELECT DISTINCT unnest(ids) AS id) x ON x.id = k.child_id
    ORDER BY k.child_id FOR UPDATE OF k;
    UPDATE child_teams k
    SET members = child_team_members(k.child_id), tasks = child_team_tasks(k.child_id)
    FROM (SELECT DISTINCT unnest(ids) AS id) x
    WHERE k.child_id = x.id;
END
$$;

-- Involvements and tasks: the children of the rows written, before and after.
CREATE FUNCTION child_teams_after_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM child_teams_refresh(ARRAY(SELECT DISTINCT child_id FROM new_rows));
    RETURN NULL;
END
$$;
CREATE FUNCTION child_teams_after_old() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM child_teams_refresh(ARRAY(SELECT DISTINCT child_id FROM old_rows));
    RETURN NULL;
END
$$;
CREATE FUNCTION child_teams_after_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM child_teams_refresh(ARRAY(
        SELECT child_id FROM new_rows UNION SELECT child_id FROM old_rows));
    RETURN NULL;
END
$$;

CREATE TRIGGER involvements_kept_insert AFTER INSERT ON involvements
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_new();
CREATE TRIGGER involvements_kept_update AFTER UPDATE ON involvements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_change();
CREATE TRIGGER involvements_kept_delete AFTER DELETE ON involvements
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_old();
CREATE TRIGGER tasks_kept_insert AFTER INSERT ON tasks
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_new();
CREATE TRIGGER tasks_kept_update AFTER UPDATE ON tasks
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_change();
CREATE TRIGGER tasks_kept_delete AFTER DELETE ON tasks
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_old();

-- A new child starts with an empty team.
CREATE FUNCTION child_teams_after_child() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM child_teams_refresh(ARRAY(SELECT id FROM new_rows));
    RETURN NULL;
END
$$;
CREATE TRIGGER children_kept_insert AFTER INSERT ON children
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_child();

-- A practitioner's kept columns changed: the children they are a member of or assigned a task
-- of. (Their involvements' changes arrive through the involvements' triggers.)
CREATE FUNCTION child_teams_after_practitioners() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM child_teams_refresh(ARRAY(
        WITH changed AS (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE ROW(n.agency_id, n.display_name, n.email, n.job_title, n.phone, n.mobile,
                      n.role, n.active, n.version)
                  IS DISTINCT FROM ROW(o.agency_id, o.display_name, o.email, o.job_title,
                      o.phone, o.mobile, o.role, o.active, o.version))
        SELECT i.child_id FROM involvements i JOIN changed ON changed.id = i.practitioner_id
        WHERE i.ended_on IS NULL
        UNION
        SELECT t.child_id FROM tasks t JOIN changed ON changed.id = t.assignee_id));
    RETURN NULL;
END
$$;
CREATE TRIGGER practitioners_kept_update AFTER UPDATE ON practitioners
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_practitioners();

-- An agency's kept columns changed: the children with an active involvement through it.
CREATE FUNCTION child_teams_after_agencies() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM child_teams_refresh(ARRAY(
        WITH changed AS (
            SELECT n.id FROM new_rows n JOIN old_rows o ON o.id = n.id
            WHERE ROW(n.name, n.kind, n.sensitive, n.email, n.phone, n.version)
                  IS DISTINCT FROM ROW(o.name, o.kind, o.sensitive, o.email, o.phone, o.version))
        SELECT DISTINCT i.child_id FROM involvements i JOIN changed ON changed.id = i.agency_id
        WHERE i.ended_on IS NULL));
    RETURN NULL;
END
$$;
CREATE TRIGGER agencies_kept_update AFTER UPDATE ON agencies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION child_teams_after_agencies();

-- Every child already recorded.
SELECT child_teams_refresh(ARRAY(SELECT id FROM children));
