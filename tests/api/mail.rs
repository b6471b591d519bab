//! Email notifications through a real SMTP listener: who is told, what they are told, and
//! that nothing is lost or sent twice.

use patchwork_tests::serde_json::{json, Value};
use patchwork_tests::smtp::SmtpServer;
use patchwork_tests::*;

const REGISTER: &str =
    "mutation($i: RegisterChildInput!) { registerChild(input: $i) { id version child { id } } }";
const JOIN: &str = "mutation($i: JoinTeamInput!) { joinTeam(input: $i) { id version } }";
const RAISE: &str = "mutation($c: ID!, $m: String!) { raiseAttention(childId: $c, message: $m) }";

/// A school, social care, and a sensitive domestic-abuse service; a teacher who registers
/// Leo Marsh and a social worker who joins.
struct Town {
    admin: User,
    school: String,
    social_care: String,
    da: String,
    teacher: User,
    social_worker: User,
    child: String,
}

async fn town(app: &TestApp) -> Town {
    let admin = app.system_admin().await;
    let school = app
        .given_agency(&admin, "Gull Street School", "EDUCATION", false)
        .await;
    let social_care = app
        .given_agency(&admin, "Children's Social Care", "SOCIAL_CARE", false)
        .await;
    let da = app
        .given_agency(&admin, "Safe Harbour", "DOMESTIC_ABUSE", true)
        .await;
    let teacher = app
        .given_practitioner(&admin, &school, "PRACTITIONER")
        .await;
    let social_worker = app
        .given_practitioner(&admin, &social_care, "PRACTITIONER")
        .await;
    let data = app
        .gql_ok(
            Some(&teacher.token),
            REGISTER,
            json!({ "i": { "givenName": "Leo", "familyName": "Marsh", "dateOfBirth": "2017-05-14", "role": "Class teacher" } }),
        )
        .await;
    let child = data["registerChild"]["child"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    join(app, &social_worker, &child, "Allocated social worker").await;
    Town {
        admin,
        school,
        social_care,
        da,
        teacher,
        social_worker,
        child,
    }
}

async fn join(app: &TestApp, who: &User, child: &str, role: &str) -> Value {
    app.gql_ok(
        Some(&who.token),
        JOIN,
        json!({ "i": { "childId": child, "role": role, "reason": "Allocated at strategy meeting" } }),
    )
    .await["joinTeam"]
        .clone()
}

#[tokio::test]
async fn joining_tells_the_team_but_not_the_joiner() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    let mails = smtp.wait_for(1).await;
    app.outbox_settled().await;
    assert_eq!(smtp.received().len(), 1, "{mails:#?}");
    let mail = &mails[0];
    assert_eq!(mail.recipient(), t.teacher.email);
    assert!(mail.subject().contains("L.M."), "{}", mail.subject());
    assert!(mail.subject().contains("joined the team"));
    let text = mail.text();
    assert!(
        !text.contains("Leo") && !text.contains("Marsh") && !text.contains("2017"),
        "{text}"
    );
    assert!(text.contains(&format!("/children/{}", t.child)), "{text}");
    assert!(mail.body("text/html").unwrap().contains("/preferences"));
    assert!(mail.header("Message-ID").unwrap().starts_with('<'));
    assert!(mail
        .header("List-Unsubscribe")
        .unwrap()
        .contains("/unsubscribe?token="));
    assert!(
        smtp.to(&t.social_worker.email).is_empty(),
        "the joiner is not told"
    );
    let _ = (&t.admin, &t.school, &t.social_care, &t.da);
}

#[tokio::test]
async fn raising_attention_reaches_those_who_may_see_the_sender() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(with_mail(&smtp)).await;
    let t = town(&app).await;
    smtp.wait_for(1).await;
    let idva = app
        .given_practitioner(&t.admin, &t.da, "PRACTITIONER")
        .await;
    join(&app, &idva, &t.child, "IDVA").await;
    app.outbox_settled().await;
    let before = smtp.received().len();

    // A standard member: everyone else is told, and the answer counts them.
    let data = app
        .gql_ok(
            Some(&t.teacher.token),
            RAISE,
            json!({ "c": t.child, "m": "Leo arrived with a bruise" }),
        )
        .await;
    // Both the social worker and the IDVA are told; the answer counts only whom the teacher
    // may see, so it does not betray the IDVA.
    assert_eq!(data["raiseAttention"], 1);
    app.outbox_settled().await;
    let new: Vec<_> = smtp.received().into_iter().skip(before).collect();
    let mut to: Vec<String> = new.iter().map(|m| m.recipient()).collect();
    to.sort();
    let mut expected = vec![t.social_worker.email.clone(), idva.email.clone()];
    expected.sort();
    assert_eq!(to, expected);
    assert!(new[0].text().contains("Leo arrived with a bruise"));

    // The restricted IDVA: only those who may see her involvement are told; nobody here may.
    let before = smtp.received().len();
    let data = app
        .gql_ok(
            Some(&idva.token),
            RAISE,
            json!({ "c": t.child, "m": "Please call me" }),
        )
        .await;
    assert_eq!(data["raiseAttention"], 0);
    app.outbox_settled().await;
    assert_eq!(smtp.received().len(), before);

    // Bad input and strangers: a clear error and no mail.
    for (who, child, message, code) in [
        (&t.teacher, t.child.clone(), "".to_owned(), "BAD_USER_INPUT"),
        (
            &t.teacher,
            t.child.clone(),
            "x".repeat(1001),
            "BAD_USER_INPUT",
        ),
        (
            &t.teacher,
            uuid::Uuid::new_v4().to_string(),
            "hello".to_owned(),
            "NOT_FOUND",
        ),
        (&t.admin, t.child.clone(), "hello".to_owned(), "NOT_FOUND"),
    ] {
        let body = app
            .gql(Some(&who.token), RAISE, json!({ "c": child, "m": message }))
            .await;
        assert_eq!(error_code(&body), Some(code), "{body}");
    }
    app.outbox_settled().await;
    assert_eq!(smtp.received().len(), before);
}
