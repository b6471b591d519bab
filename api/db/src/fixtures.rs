//! The demo town as rows: fixture records name each other by short keys, ids are derived
//! from the keys (UUID v5), and every insert leaves an existing row alone, so loading twice
//! changes nothing.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use serde::Deserialize;
use uuid::Uuid;

use crate::domain::*;
use crate::schema::*;

/// The namespace fixture keys are hashed in.
const NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2a4e_9b1d_4c57_8e0a_5d3f_7b2c_9e41);

/// The id a fixture key stands for.
pub fn fixture_id(key: &str) -> Uuid {
    Uuid::new_v5(&NAMESPACE, key.as_bytes())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Town {
    pub town: String,
    /// Every demo account's password.
    pub demo_password: String,
    pub agencies: Vec<AgencyFixture>,
    pub practitioners: Vec<PractitionerFixture>,
    pub children: Vec<ChildFixture>,
    #[serde(default)]
    pub child_links: Vec<ChildLinkFixture>,
    #[serde(default)]
    pub carers: Vec<CarerFixture>,
    pub involvements: Vec<InvolvementFixture>,
    #[serde(default)]
    pub contacts: Vec<ContactFixture>,
    #[serde(default)]
    pub tasks: Vec<TaskFixture>,
    #[serde(default)]
    pub sharing_agreements: Vec<SharingAgreementFixture>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AgencyFixture {
    pub key: String,
    pub name: String,
    pub kind: AgencyKind,
    #[serde(default)]
    pub sensitive: bool,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PractitionerFixture {
    pub key: String,
    pub agency: String,
    pub display_name: String,
    pub email: String,
    pub job_title: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub role: Role,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChildFixture {
    pub key: String,
    pub given_name: String,
    pub family_name: String,
    pub date_of_birth: NaiveDate,
    pub gender: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChildLinkFixture {
    pub child: String,
    pub related: String,
    /// SIBLING, HALF_SIBLING or STEP_SIBLING.
    pub relationship: String,
}

/// A child's parent or carer: a name and a relationship.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CarerFixture {
    pub key: String,
    pub child: String,
    pub relation: FamilyRelation,
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InvolvementFixture {
    pub key: String,
    pub child: String,
    pub practitioner: String,
    pub role: String,
    pub sensitivity: Sensitivity,
    #[serde(default = "not_recorded")]
    pub consent: ConsentStatus,
    pub lawful_basis: Option<LawfulBasis>,
    #[serde(default)]
    pub is_lead: bool,
    pub started_on: NaiveDate,
    pub ended_on: Option<NaiveDate>,
    pub last_contact_at: Option<DateTime<Utc>>,
    pub next_contact_at: Option<DateTime<Utc>>,
}

fn not_recorded() -> ConsentStatus {
    ConsentStatus::NotRecorded
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactFixture {
    pub key: String,
    pub involvement: String,
    pub kind: ContactKind,
    pub outcome: ContactOutcome,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TaskFixture {
    pub key: String,
    pub child: String,
    pub title: String,
    pub description: Option<String>,
    pub assignee: Option<String>,
    pub created_by: String,
    pub due_on: Option<NaiveDate>,
    #[serde(default = "open")]
    pub status: TaskStatus,
}

fn open() -> TaskStatus {
    TaskStatus::Open
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SharingAgreementFixture {
    pub key: String,
    pub from_agency: String,
    pub to_agency: String,
    pub purpose: String,
    pub starts_on: NaiveDate,
    pub ends_on: Option<NaiveDate>,
    pub created_by: String,
}

/// What a seeding run added.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub agencies: usize,
    pub practitioners: usize,
    pub children: usize,
    pub involvements: usize,
    pub contacts: usize,
    pub tasks: usize,
    pub sharing_agreements: usize,
    pub family_links: usize,
}

impl std::fmt::Display for SeedReport {
    /// "added 15 agencies, 42 practitioners, …", or that nothing was missing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            (self.agencies, "agency", "agencies"),
            (self.practitioners, "practitioner", "practitioners"),
            (self.children, "child", "children"),
            (self.involvements, "involvement", "involvements"),
            (self.contacts, "contact", "contacts"),
            (self.tasks, "task", "tasks"),
            (
                self.sharing_agreements,
                "sharing agreement",
                "sharing agreements",
            ),
            (self.family_links, "family link", "family links"),
        ]
        .into_iter()
        .filter(|(n, _, _)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if n == 1 { one } else { many }))
        .collect();
        match parts.split_last() {
            None => f.write_str("already loaded, nothing to add"),
            Some((last, [])) => write!(f, "added {last}"),
            Some((last, rest)) => write!(f, "added {} and {last}", rest.join(", ")),
        }
    }
}

/// How many of the town's practitioners have no account yet.
pub fn missing_practitioners(conn: &mut PgConnection, town: &Town) -> QueryResult<usize> {
    let id = fixture_id;
    let existing: Vec<Uuid> = practitioners::table
        .select(practitioners::id)
        .filter(
            practitioners::id.eq_any(
                town.practitioners
                    .iter()
                    .map(|p| id(&p.key))
                    .collect::<Vec<_>>(),
            ),
        )
        .load(conn)?;
    Ok(town.practitioners.len() - existing.len())
}

/// Inserts the town's rows that are missing; new accounts get the password hash `hash`.
pub fn insert_town(
    conn: &mut PgConnection,
    town: &Town,
    hash: Option<&str>,
) -> anyhow::Result<SeedReport> {
    let id = fixture_id;
    let practitioner_agency = |key: &str| -> anyhow::Result<Uuid> {
        town.practitioners
            .iter()
            .find(|p| p.key == key)
            .map(|p| id(&p.agency))
            .ok_or_else(|| anyhow::anyhow!("unknown practitioner '{key}'"))
    };
    let mut report = SeedReport::default();
    for a in &town.agencies {
        report.agencies += diesel::insert_into(agencies::table)
            .values((
                agencies::id.eq(id(&a.key)),
                agencies::name.eq(&a.name),
                agencies::kind.eq(a.kind.as_str()),
                agencies::sensitive.eq(a.sensitive),
                agencies::email.eq(&a.email),
                agencies::phone.eq(&a.phone),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    for p in &town.practitioners {
        report.practitioners += diesel::insert_into(practitioners::table)
            .values((
                practitioners::id.eq(id(&p.key)),
                practitioners::agency_id.eq(id(&p.agency)),
                practitioners::display_name.eq(&p.display_name),
                practitioners::email.eq(&p.email),
                practitioners::job_title.eq(&p.job_title),
                practitioners::phone.eq(&p.phone),
                practitioners::mobile.eq(&p.mobile),
                practitioners::role.eq(p.role.as_str()),
                practitioners::password_hash.eq(hash),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    for c in &town.children {
        report.children += diesel::insert_into(children::table)
            .values((
                children::id.eq(id(&c.key)),
                children::date_of_birth.eq(c.date_of_birth),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    for l in &town.child_links {
        let (a, b) = (id(&l.child), id(&l.related));
        let description = match l.relationship.as_str() {
            "HALF_SIBLING" => Some("half-siblings"),
            "STEP_SIBLING" => Some("step-siblings"),
            _ => None,
        };
        // A pair is linked once, whoever linked it (a database migrated from the earlier
        // child_links has these pairs under other ids).
        let linked: bool = diesel::select(diesel::dsl::exists(
            family_links::table
                .filter(family_links::child_id.eq(a.min(b)))
                .filter(family_links::sibling_id.eq(a.max(b)))
                .filter(family_links::removed_at.is_null()),
        ))
        .get_result(conn)?;
        if linked {
            continue;
        }
        report.family_links += diesel::insert_into(family_links::table)
            .values((
                family_links::id.eq(id(&format!("family:{}:{}", l.child, l.related))),
                family_links::child_id.eq(a.min(b)),
                family_links::relation.eq(FamilyRelation::Sibling.as_str()),
                family_links::sibling_id.eq(a.max(b)),
                family_links::description.eq(description),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    for c in &town.carers {
        report.family_links += diesel::insert_into(family_links::table)
            .values((
                family_links::id.eq(id(&c.key)),
                family_links::child_id.eq(id(&c.child)),
                family_links::relation.eq(c.relation.as_str()),
                family_links::name.eq(&c.name),
                family_links::description.eq(&c.description),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    for i in &town.involvements {
        let consent_at = (i.consent != ConsentStatus::NotRecorded)
            .then(|| i.started_on.and_hms_opt(9, 0, 0).map(|t| t.and_utc()))
            .flatten();
        let added = diesel::insert_into(involvements::table)
            .values((
                involvements::id.eq(id(&i.key)),
                involvements::child_id.eq(id(&i.child)),
                involvements::practitioner_id.eq(id(&i.practitioner)),
                involvements::agency_id.eq(practitioner_agency(&i.practitioner)?),
                involvements::role.eq(&i.role),
                involvements::sensitivity.eq(i.sensitivity.as_str()),
                involvements::consent.eq(i.consent.as_str()),
                involvements::consent_recorded_by.eq(consent_at.map(|_| id(&i.practitioner))),
                involvements::consent_recorded_at.eq(consent_at),
                involvements::lawful_basis.eq(i.lawful_basis.map(|b| b.as_str())),
                involvements::is_lead.eq(i.is_lead),
                involvements::started_on.eq(i.started_on),
                involvements::ended_on.eq(i.ended_on),
                involvements::last_contact_at.eq(i.last_contact_at),
                involvements::next_contact_at.eq(i.next_contact_at),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        report.involvements += added;
        if added > 0 {
            let at = i.started_on.and_hms_opt(9, 0, 0).map(|t| t.and_utc());
            // Each agency recorded the child's details as the town's file has them.
            if let Some(c) = town.children.iter().find(|c| c.key == i.child) {
                diesel::insert_into(child_identities::table)
                    .values((
                        child_identities::id.eq(id(&format!("identity:{}", i.key))),
                        child_identities::child_id.eq(id(&c.key)),
                        child_identities::involvement_id.eq(id(&i.key)),
                        child_identities::given_name.eq(&c.given_name),
                        child_identities::family_name.eq(&c.family_name),
                        child_identities::gender.eq(&c.gender),
                        child_identities::postcode.eq(&c.postcode),
                        child_identities::recorded_at.eq(at.unwrap_or_else(Utc::now)),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            activity(
                conn,
                &format!("activity:{}", i.key),
                &i.child,
                &i.practitioner,
                ActivityKind::InvolvementStarted,
                at,
            )
            .involvement(id(&i.key))
            .insert()?;
        }
    }
    for c in &town.contacts {
        let involvement = town
            .involvements
            .iter()
            .find(|i| i.key == c.involvement)
            .ok_or_else(|| anyhow::anyhow!("unknown involvement '{}'", c.involvement))?;
        let added = diesel::insert_into(contacts::table)
            .values((
                contacts::id.eq(id(&c.key)),
                contacts::involvement_id.eq(id(&c.involvement)),
                contacts::kind.eq(c.kind.as_str()),
                contacts::outcome.eq(c.outcome.as_str()),
                contacts::at.eq(c.at),
                contacts::recorded_by.eq(id(&involvement.practitioner)),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        report.contacts += added;
        if added > 0 {
            activity(
                conn,
                &format!("activity:{}", c.key),
                &involvement.child,
                &involvement.practitioner,
                ActivityKind::ContactRecorded,
                // Recorded when it happened, or today for one planned ahead.
                Some(c.at.min(Utc::now())),
            )
            .involvement(id(&c.involvement))
            .contact(id(&c.key))
            .details(serde_json::json!({ "kind": c.kind, "outcome": c.outcome }))
            .insert()?;
        }
    }
    for t in &town.tasks {
        let closed = t.status != TaskStatus::Open;
        let added = diesel::insert_into(tasks::table)
            .values((
                tasks::id.eq(id(&t.key)),
                tasks::child_id.eq(id(&t.child)),
                tasks::title.eq(&t.title),
                tasks::description.eq(&t.description),
                tasks::assignee_id.eq(t.assignee.as_deref().map(id)),
                tasks::created_by.eq(id(&t.created_by)),
                tasks::due_on.eq(t.due_on),
                tasks::status.eq(t.status.as_str()),
                tasks::closed_at.eq(closed.then(Utc::now)),
                tasks::closed_by
                    .eq(closed.then(|| id(t.assignee.as_deref().unwrap_or(&t.created_by)))),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
        report.tasks += added;
        if added > 0 {
            activity(
                conn,
                &format!("activity:{}", t.key),
                &t.child,
                &t.created_by,
                ActivityKind::TaskCreated,
                // Agreed a fortnight before it falls due.
                t.due_on
                    .and_then(|d| (d - chrono::Duration::days(14)).and_hms_opt(9, 0, 0))
                    .map(|d| d.and_utc().min(Utc::now())),
            )
            .task(id(&t.key))
            .insert()?;
        }
    }
    for s in &town.sharing_agreements {
        report.sharing_agreements += diesel::insert_into(sharing_agreements::table)
            .values((
                sharing_agreements::id.eq(id(&s.key)),
                sharing_agreements::from_agency_id.eq(id(&s.from_agency)),
                sharing_agreements::to_agency_id.eq(id(&s.to_agency)),
                sharing_agreements::purpose.eq(&s.purpose),
                sharing_agreements::starts_on.eq(s.starts_on),
                sharing_agreements::ends_on.eq(s.ends_on),
                sharing_agreements::created_by.eq(id(&s.created_by)),
            ))
            .on_conflict_do_nothing()
            .execute(conn)?;
    }
    Ok(report)
}

/// An activity row for the seeded history.
struct ActivityRow<'c> {
    conn: &'c mut PgConnection,
    id: Uuid,
    child: Uuid,
    actor: Uuid,
    kind: ActivityKind,
    at: Option<DateTime<Utc>>,
    involvement: Option<Uuid>,
    task: Option<Uuid>,
    contact: Option<Uuid>,
    details: serde_json::Value,
}

fn activity<'c>(
    conn: &'c mut PgConnection,
    key: &str,
    child: &str,
    actor: &str,
    kind: ActivityKind,
    at: Option<DateTime<Utc>>,
) -> ActivityRow<'c> {
    ActivityRow {
        conn,
        id: fixture_id(key),
        child: fixture_id(child),
        actor: fixture_id(actor),
        kind,
        at,
        involvement: None,
        task: None,
        contact: None,
        details: serde_json::json!({}),
    }
}

impl ActivityRow<'_> {
    fn involvement(mut self, id: Uuid) -> Self {
        self.involvement = Some(id);
        self
    }
    fn task(mut self, id: Uuid) -> Self {
        self.task = Some(id);
        self
    }
    fn contact(mut self, id: Uuid) -> Self {
        self.contact = Some(id);
        self
    }
    fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
    fn insert(self) -> QueryResult<usize> {
        diesel::insert_into(activity::table)
            .values((
                activity::id.eq(self.id),
                activity::child_id.eq(self.child),
                activity::actor_id.eq(self.actor),
                activity::kind.eq(self.kind.as_str()),
                activity::involvement_id.eq(self.involvement),
                activity::task_id.eq(self.task),
                activity::contact_id.eq(self.contact),
                activity::at.eq(self.at.unwrap_or_else(Utc::now)),
                activity::details.eq(self.details),
            ))
            .on_conflict_do_nothing()
            .execute(self.conn)
    }
}
