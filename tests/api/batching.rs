//! The team screen runs a fixed number of SQL statements, whatever the size of the team.

use diesel::connection::SimpleConnection;
use patchwork_tests::serde_json::json;
use patchwork_tests::*;

const TEAM_SCREEN: &str = "query Team($id: ID!) {
  child(id: $id) { givenName familyName dateOfBirth
    team { role sensitivity isLead lastContactAt nextContactAt
      practitioner { displayName jobTitle email phone mobile agency { name kind } } }
    tasks(status: OPEN) { title dueOn assignee { displayName } } } }";

const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { child { id } } }";

/// Adds `n` members from `n` different agencies to a child's team, each with a task.
fn grow_team(app: &TestApp, child: &str, creator: &str, n: usize, tag: &str) {
    let mut sql = String::new();
    for i in 0..n {
        let agency = uuid::Uuid::new_v4();
        let person = uuid::Uuid::new_v4();
        sql.push_str(&format!(
            "INSERT INTO agencies (id, name, kind) VALUES ('{agency}', 'Agency {tag} {i}', 'HEALTH');
             INSERT INTO practitioners (id, agency_id, display_name, email, role)
               VALUES ('{person}', '{agency}', 'Member {i}', 'm{i}-{tag}@example.org', 'PRACTITIONER');
             INSERT INTO involvements (id, child_id, practitioner_id, agency_id, role, sensitivity, started_on)
               VALUES ('{}', '{child}', '{person}', '{agency}', 'Nurse', 'STANDARD', current_date);
             INSERT INTO tasks (id, child_id, title, assignee_id, created_by, due_on)
               VALUES ('{}', '{child}', 'Task {i}', '{person}', '{creator}', current_date + {i});",
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        ));
    }
    app.db().batch_execute(&sql).expect("grow the team");
}

async fn statements_for(app: &TestApp, token: &str, child: &str) -> (u64, usize, usize) {
    let (used, _, team, tasks) = cost_of(app, token, child).await;
    (used, team, tasks)
}

/// The statements and the trips to the database (connections taken from the pool, each a
/// hand-off to a blocking thread) one team screen costs, and its team's and tasks' sizes.
async fn cost_of(app: &TestApp, token: &str, child: &str) -> (u64, u64, usize, usize) {
    // Warm the pool first: opening connections is not the screen's cost.
    for _ in 0..2 {
        app.gql_ok(Some(token), TEAM_SCREEN, json!({ "id": child }))
            .await;
    }
    let before = app.state.statements.get();
    let trips_before = app.state.statements.checkouts();
    let data = app
        .gql_ok(Some(token), TEAM_SCREEN, json!({ "id": child }))
        .await;
    let used = app.state.statements.get() - before;
    let trips = app.state.statements.checkouts() - trips_before;
    let team = data["child"]["team"].as_array().unwrap().len();
    let tasks = data["child"]["tasks"].as_array().unwrap().len();
    (used, trips, team, tasks)
}

#[tokio::test]
async fn the_team_screen_costs_the_same_sql_for_3_and_30_members() {
    let app = spawn_quiet_app().await;
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let mut ids = Vec::new();
    for (given, family) in [("Ava", "Small"), ("Ben", "Large")] {
        let data = app
            .gql_ok(
                Some(&teacher.token),
                REGISTER,
                json!({ "i": { "givenName": given, "familyName": family, "dateOfBirth": "2016-04-01", "role": "Class teacher" } }),
            )
            .await;
        ids.push(
            data["registerChild"]["child"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    grow_team(&app, &ids[0], &teacher.id, 2, "s");
    grow_team(&app, &ids[1], &teacher.id, 29, "l");

    let mut seen = Vec::new();
    for _ in 0..3 {
        let (small, small_team, small_tasks) = statements_for(&app, &teacher.token, &ids[0]).await;
        let (large, large_team, large_tasks) = statements_for(&app, &teacher.token, &ids[1]).await;
        assert_eq!((small_team, small_tasks), (3, 2));
        assert_eq!((large_team, large_tasks), (30, 29));
        assert_eq!(small, large, "SQL statements for a team of 3 and of 30");
        seen.push(small);
    }
    let small = seen[0];
    assert!(
        seen.iter().all(|n| *n == small),
        "always the same: {seen:?}"
    );
    // One statement reads the child, the team with profiles and agencies and the tasks with
    // assignees (the child's read looks ahead to its team and tasks); one more records the
    // read, shared with any other reads of the moment (here there are none). Who is asking
    // (agency, role, agreements in force) was read by the caller's first request, and the
    // process keeps it until PostgreSQL says it changed.
    assert_eq!(small, 2, "the team screen's statements");
    let (_, trips, _, _) = cost_of(&app, &teacher.token, &ids[1]).await;
    assert_eq!(trips, 2, "the team screen's trips to the database");
}
