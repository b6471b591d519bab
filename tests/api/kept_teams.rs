//! Each child's kept team (migration `kept_teams`): the row the team screen reads instead of
//! the tables. It must hold exactly what the tables hold after every write, whoever writes
//! and however many rows a statement touches, and two writers to one child must not lose
//! each other's change.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::pg::Pg;
use diesel::prelude::*;
use patchwork::db::models::{AgencyRow, InvolvementRow, PractitionerRow, TaskRow};
use patchwork::db::schema::{agencies, involvements, practitioners, tasks};
use patchwork_tests::serde_json::json;
use patchwork_tests::world::*;
use patchwork_tests::*;

#[derive(QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    t: String,
}

fn text(conn: &mut PgConnection, sql: &str) -> String {
    diesel::sql_query(sql)
        .get_result::<Text>(conn)
        .expect(sql)
        .t
}

/// Children whose kept row is missing or differs from their team and tasks as the tables
/// hold them now.
fn stale(app: &TestApp) -> i64 {
    app.count(
        "children c",
        "NOT EXISTS (SELECT 1 FROM child_teams k WHERE k.child_id = c.id \
         AND k.members = child_team_members(c.id) AND k.tasks = child_team_tasks(c.id))",
    )
}

/// The columns `Selectable` reads for a row, as `column, ...`.
fn selected<Q: diesel::query_builder::QueryFragment<Pg>>(query: Q, table: &str) -> String {
    let text = diesel::debug_query::<Pg, _>(&query)
        .to_string()
        .replace('"', "");
    let columns = text.strip_prefix("SELECT ").expect("a SELECT");
    columns[..columns.find(" FROM ").expect("a FROM")].replace(&format!("{table}."), "")
}

#[tokio::test]
async fn the_kept_records_hold_the_rows_columns_in_their_order() {
    let app = spawn_app().await;
    let mut db = app.db();
    let mut kept = |name: &str| {
        text(
            &mut db,
            &format!(
                "SELECT string_agg(attname, ', ' ORDER BY attnum) AS t FROM pg_attribute \
                 WHERE attrelid = '{name}'::regclass AND attnum > 0 AND NOT attisdropped"
            ),
        )
    };
    assert_eq!(
        kept("kept_involvement"),
        selected(
            involvements::table.select(InvolvementRow::as_select()),
            "involvements"
        )
    );
    assert_eq!(
        kept("kept_practitioner"),
        selected(
            practitioners::table.select(PractitionerRow::as_select()),
            "practitioners"
        )
    );
    assert_eq!(
        kept("kept_agency"),
        selected(agencies::table.select(AgencyRow::as_select()), "agencies")
    );
    assert_eq!(
        kept("kept_task"),
        selected(tasks::table.select(TaskRow::as_select()), "tasks")
    );
}

#[tokio::test]
async fn every_write_keeps_the_childs_team() {
    let w = World::build().await;
    let app = &w.app;
    assert!(app.count("children", "TRUE") > 1);
    assert_eq!(stale(app), 0, "after the story's writes through the API");

    let mut db = app.db();
    let writes = [
        // One row, then every row at once (children of many teams in one statement).
        format!(
            "UPDATE involvements SET next_contact_at = now() + interval '3 days' WHERE id = '{}'",
            w.teacher_inv
        ),
        "UPDATE involvements SET last_contact_at = now()".to_owned(),
        format!(
            "UPDATE involvements SET sensitivity = 'STANDARD' WHERE id = '{}'",
            w.idva_inv
        ),
        format!(
            "UPDATE involvements SET ended_on = current_date WHERE id = '{}'",
            w.housing_inv
        ),
        // A new task, a reassigned one, a removed one and another new one.
        format!(
            "INSERT INTO tasks (id, child_id, title, created_by, assignee_id, status) \
             VALUES (gen_random_uuid(), '{}', 'Book the review', '{}', '{}', 'OPEN')",
            w.child, w.teacher.id, w.social_worker.id
        ),
        format!(
            "UPDATE tasks SET assignee_id = '{}' WHERE id = '{}'",
            w.teacher.id, w.task_unassigned
        ),
        "DELETE FROM tasks WHERE title = 'Book the review'".to_owned(),
        format!(
            "INSERT INTO tasks (id, child_id, title, created_by, status) \
             VALUES (gen_random_uuid(), '{}', 'Send the minutes', '{}', 'OPEN')",
            w.child, w.teacher.id
        ),
        // What the team screen shows of a practitioner and of an agency.
        format!(
            "UPDATE practitioners SET phone = '01632 960111' WHERE id = '{}'",
            w.teacher.id
        ),
        format!(
            "UPDATE agencies SET name = 'Gull Street Academy' WHERE id = '{}'",
            w.school
        ),
        format!(
            "UPDATE practitioners SET active = FALSE, deactivated_at = now() WHERE id = '{}'",
            w.housing_colleague.id
        ),
        // A new child starts with an empty team.
        "INSERT INTO children (id, date_of_birth) VALUES (gen_random_uuid(), '2019-02-03')"
            .to_owned(),
    ];
    for sql in writes {
        db.batch_execute(&sql).expect(&sql);
        assert_eq!(stale(app), 0, "after {sql}");
    }
    // Each write reached the kept rows: the screen shows them.
    let data = app
        .gql_ok(
            Some(&w.social_worker.token),
            "query($id: ID!) { child(id: $id) { team { practitioner { phone agency { name } } } \
             tasks { title } } }",
            json!({ "id": w.child }),
        )
        .await;
    let body = data.to_string();
    assert!(body.contains("01632 960111"), "{data:#}");
    assert!(body.contains("Gull Street Academy"), "{data:#}");
    assert!(body.contains("Send the minutes"), "{data:#}");
    assert!(!body.contains("Book the review"), "{data:#}");
}

#[tokio::test]
async fn two_writers_to_one_childs_team_keep_both_changes() {
    let w = World::build().await;
    let insert = |title: &str, by: &str| {
        format!(
            "INSERT INTO tasks (id, child_id, title, created_by, status) \
             VALUES (gen_random_uuid(), '{}', '{title}', '{by}', 'OPEN')",
            w.child
        )
    };
    let mut first = w.app.db();
    first
        .batch_execute(&format!("BEGIN; {}", insert("First writer", &w.teacher.id)))
        .unwrap();
    // The second writer waits for the first's lock on the kept row, then recomputes it with
    // the first's task committed.
    let mut second = w.app.db();
    let second_sql = format!(
        "BEGIN; {}; COMMIT",
        insert("Second writer", &w.social_worker.id)
    );
    let waiting = std::thread::spawn(move || second.batch_execute(&second_sql));
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !waiting.is_finished(),
        "the second writer waits for the first"
    );
    first.batch_execute("COMMIT").unwrap();
    waiting.join().unwrap().unwrap();

    let mut db = w.app.db();
    let kept = text(
        &mut db,
        &format!(
            "SELECT string_agg((e.task).title, ',' ORDER BY (e.task).title) AS t \
             FROM child_teams k, unnest(k.tasks) e WHERE k.child_id = '{}' \
             AND (e.task).title LIKE '% writer'",
            w.child
        ),
    );
    assert_eq!(kept, "First writer,Second writer");
    assert_eq!(stale(&w.app), 0);
}

/// The team screen (from the kept rows) and the same fields read through the children list
/// (from the tables, one loader per field) show every reader the same team and tasks: the
/// rules over the kept rows decide as the rules over the tables.
#[tokio::test]
async fn the_kept_rows_and_the_tables_show_everyone_the_same_team() {
    let w = World::build().await;
    const FIELDS: &str = "id team { id role sensitivity isLead practitioner { id displayName \
        phone agency { id name } } } tasks { id title status assignee { id displayName } }";
    let users = [
        &w.teacher,
        &w.social_worker,
        &w.idva,
        &w.da_colleague,
        &w.da_admin,
        &w.officer,
        &w.sm_worker,
        &w.health_worker,
        &w.probation_officer,
        &w.housing_officer,
        &w.housing_colleague,
        &w.housing_admin,
        &w.outsider,
    ];
    let mut compared = 0;
    for user in users {
        let listed = w
            .app
            .gql_ok(
                Some(&user.token),
                &format!("{{ myChildren(first: 50) {{ edges {{ node {{ {FIELDS} }} }} }} }}"),
                json!({}),
            )
            .await;
        for edge in listed["myChildren"]["edges"].as_array().unwrap() {
            let node = &edge["node"];
            let screen = w
                .app
                .gql_ok(
                    Some(&user.token),
                    &format!("query($id: ID!) {{ child(id: $id) {{ {FIELDS} }} }}"),
                    json!({ "id": node["id"] }),
                )
                .await;
            assert_eq!(screen["child"], *node, "{}", user.email);
            compared += 1;
        }
    }
    // Leo Marsh's team and tasks, hidden parts included, seen by most of the people above.
    assert!(compared >= 8, "{compared} screens compared");
}
