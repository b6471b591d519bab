//! The notification triggers, called by the services inside the transaction of the change.
//! Each decides who is told (through the policy) and what they are told (through `compose`).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::db::models::{InvolvementRow, TaskRow};
use crate::db::schema::{agencies, children, practitioners};
use crate::domain::{ContactOutcome, NotificationKind, Sensitivity};
use crate::mail::compose::{self, Links};
use crate::mail::outbox;
use crate::policy;

/// What every trigger needs to know about where it runs.
pub struct Context<'a> {
    pub links: &'a Links,
    pub today: NaiveDate,
    /// Who made the change: never told about their own action.
    pub actor: Uuid,
}

fn child_initials(conn: &mut PgConnection, child: Uuid) -> QueryResult<String> {
    let (given, family): (String, String) = children::table
        .find(child)
        .select((children::given_name, children::family_name))
        .first(conn)?;
    Ok(compose::initials(&given, &family))
}

/// "Tom Whitfield (Kestrel Bay Children's Social Care)", and how to reach them.
fn who(conn: &mut PgConnection, practitioner: Uuid) -> QueryResult<(String, String)> {
    let (name, email, phone, agency): (String, String, Option<String>, String) =
        practitioners::table
            .inner_join(agencies::table)
            .filter(practitioners::id.eq(practitioner))
            .select((
                practitioners::display_name,
                practitioners::email,
                practitioners::phone,
                agencies::name,
            ))
            .first(conn)?;
    let reach = match phone {
        Some(p) => format!("Contact: {email}, {p}"),
        None => format!("Contact: {email}"),
    };
    Ok((format!("{name} ({agency})"), reach))
}

fn restricted(inv: &InvolvementRow) -> bool {
    inv.sensitivity != Sensitivity::Standard.as_str()
}

/// Someone joined or left the team: told to those who may see the involvement.
pub fn team_changed(
    conn: &mut PgConnection,
    cx: &Context,
    inv: &InvolvementRow,
    joined: bool,
) -> QueryResult<usize> {
    let audience =
        policy::audience_for_involvement(conn, inv, &[cx.actor, inv.practitioner_id], cx.today)?;
    if audience.is_empty() {
        return Ok(0);
    }
    let initials = child_initials(conn, inv.child_id)?;
    let (headline, details) = if restricted(inv) {
        ("the team has changed".to_owned(), Vec::new())
    } else {
        let (person, reach) = who(conn, inv.practitioner_id)?;
        let verb = if joined {
            "joined the team"
        } else {
            "left the team"
        };
        (
            format!("{person} {verb}"),
            vec![format!("Role: {}", inv.role), reach],
        )
    };
    outbox::enqueue(
        conn,
        NotificationKind::TeamChanged,
        Some(inv.child_id),
        &audience,
        |_| compose::about_child(cx.links, inv.child_id, &initials, &headline, &details),
    )
}

/// The lead professional changed (to `lead`, or to nobody): told to the whole team, since a
/// lead is always a standard involvement.
pub fn lead_changed(
    conn: &mut PgConnection,
    cx: &Context,
    child: Uuid,
    lead: Option<&InvolvementRow>,
    previous: Option<&InvolvementRow>,
) -> QueryResult<usize> {
    let anchor = match lead.or(previous) {
        Some(inv) => inv,
        None => return Ok(0),
    };
    let audience = policy::audience_for_involvement(conn, anchor, &[cx.actor], cx.today)?;
    let initials = child_initials(conn, child)?;
    let (headline, details) = match lead {
        Some(inv) => {
            let (person, reach) = who(conn, inv.practitioner_id)?;
            (
                format!("{person} is now the lead professional"),
                vec![reach],
            )
        }
        None => (
            "the team has no lead professional now".to_owned(),
            Vec::new(),
        ),
    };
    outbox::enqueue(
        conn,
        NotificationKind::LeadChanged,
        Some(child),
        &audience,
        |_| compose::about_child(cx.links, child, &initials, &headline, &details),
    )
}

/// A contact did not happen because the child was not brought or nobody answered: told to the
/// lead professional and the team, among those who may see the involvement.
pub fn contact_missed(
    conn: &mut PgConnection,
    cx: &Context,
    inv: &InvolvementRow,
    outcome: ContactOutcome,
    at: DateTime<Utc>,
) -> QueryResult<usize> {
    let audience = policy::audience_for_involvement(conn, inv, &[cx.actor], cx.today)?;
    if audience.is_empty() {
        return Ok(0);
    }
    let initials = child_initials(conn, inv.child_id)?;
    let what = match outcome {
        ContactOutcome::WasNotBrought => "was not brought to a contact",
        _ => "could not be seen: no access",
    };
    let (headline, details) = if restricted(inv) {
        (format!("the child {what}"), Vec::new())
    } else {
        let (person, reach) = who(conn, inv.practitioner_id)?;
        (
            format!("the child {what}"),
            vec![
                format!("On {} — recorded by {person}.", at.format("%-d %B %Y")),
                reach,
            ],
        )
    };
    outbox::enqueue(
        conn,
        NotificationKind::ContactMissed,
        Some(inv.child_id),
        &audience,
        |_| compose::about_child(cx.links, inv.child_id, &initials, &headline, &details),
    )
}

/// A task was assigned to `assignee`.
pub fn task_assigned(
    conn: &mut PgConnection,
    cx: &Context,
    task: &TaskRow,
    assignee: Uuid,
) -> QueryResult<usize> {
    if assignee == cx.actor {
        return Ok(0);
    }
    let initials = child_initials(conn, task.child_id)?;
    let (person, reach) = who(conn, cx.actor)?;
    let mut details = vec![format!("Assigned by {person}."), reach];
    if let Some(due) = task.due_on {
        details.insert(0, format!("Due on {}.", due.format("%-d %B %Y")));
    }
    outbox::enqueue(
        conn,
        NotificationKind::TaskAssigned,
        Some(task.child_id),
        &[assignee],
        |_| {
            compose::about_child(
                cx.links,
                task.child_id,
                &initials,
                "a task was assigned to you",
                &details,
            )
        },
    )
}

/// A task was reassigned away from `previous`.
pub fn task_unassigned(
    conn: &mut PgConnection,
    cx: &Context,
    task: &TaskRow,
    previous: Uuid,
) -> QueryResult<usize> {
    if previous == cx.actor {
        return Ok(0);
    }
    let initials = child_initials(conn, task.child_id)?;
    outbox::enqueue(
        conn,
        NotificationKind::TaskAssigned,
        Some(task.child_id),
        &[previous],
        |_| {
            compose::about_child(
                cx.links,
                task.child_id,
                &initials,
                "a task is no longer assigned to you",
                &[],
            )
        },
    )
}

/// A task was completed: told to its creator.
pub fn task_completed(conn: &mut PgConnection, cx: &Context, task: &TaskRow) -> QueryResult<usize> {
    if task.created_by == cx.actor {
        return Ok(0);
    }
    let initials = child_initials(conn, task.child_id)?;
    let (person, _) = who(conn, cx.actor)?;
    let details = vec![format!("Completed by {person}.")];
    outbox::enqueue(
        conn,
        NotificationKind::TaskCompleted,
        Some(task.child_id),
        &[task.created_by],
        |_| {
            compose::about_child(
                cx.links,
                task.child_id,
                &initials,
                "a task you created was completed",
                &details,
            )
        },
    )
}

/// A team member raised attention: every other team member who may see the sender's
/// involvement is told at once. Returns the recipients.
pub fn attention(
    conn: &mut PgConnection,
    cx: &Context,
    sender: &InvolvementRow,
    message: &str,
) -> QueryResult<Vec<Uuid>> {
    let audience = policy::audience_for_involvement(conn, sender, &[cx.actor], cx.today)?;
    if audience.is_empty() {
        return Ok(audience);
    }
    let initials = child_initials(conn, sender.child_id)?;
    let (headline, mut details) = if restricted(sender) {
        ("a team member raised attention".to_owned(), Vec::new())
    } else {
        let (person, reach) = who(conn, sender.practitioner_id)?;
        (format!("{person} raised attention"), vec![reach])
    };
    details.insert(0, format!("“{message}”"));
    outbox::enqueue(
        conn,
        NotificationKind::AttentionRaised,
        Some(sender.child_id),
        &audience,
        |_| compose::about_child(cx.links, sender.child_id, &initials, &headline, &details),
    )?;
    Ok(audience)
}
