//! The notification triggers, called by the services inside the transaction of the change.
//! Each decides who is told (through the policy) and what each recipient is told: a message
//! is composed for one recipient's reader, and names a practitioner only through [`Named`],
//! which shows them only to recipients who may see every involvement they have with the child.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

use crate::db::models::{InvolvementRow, TaskRow};
use crate::db::{child_identities, involvements, practitioners};
use crate::domain::{ContactOutcome, NotificationKind};
use crate::mail::compose::{self, Links};
use crate::mail::outbox;
use crate::policy::{self, Reader};
use crate::service::error::ServiceResult;
use crate::service::readers;

/// What every trigger needs to know about where it runs.
pub struct Context<'a> {
    pub links: &'a Links,
    pub today: NaiveDate,
    /// Who made the change: never told about their own action.
    pub actor: Uuid,
}

/// The child's initials as each recipient knows the child: from the details most recently
/// recorded through an involvement that recipient may see (rule 2).
pub(crate) struct Initials(Vec<(Uuid, String)>);

impl Initials {
    pub(crate) fn load(
        conn: &mut PgConnection,
        child: Uuid,
        recipients: &[Reader],
    ) -> QueryResult<Initials> {
        let mut out = Vec::with_capacity(recipients.len());
        for recipient in recipients {
            let names =
                child_identities::seen(conn, child, policy::identity_seen_sql(recipient, "c.id"))?;
            if let Some((given, family)) = names {
                out.push((
                    recipient.actor.practitioner_id,
                    compose::initials(&given, &family),
                ));
            }
        }
        Ok(Initials(out))
    }

    pub(crate) fn of(&self, recipient: &Reader) -> &str {
        self.0
            .iter()
            .find(|(id, _)| *id == recipient.actor.practitioner_id)
            .map_or("?", |(_, i)| i.as_str())
    }
}

/// A practitioner a message may name: "Tom Whitfield (Kestrel Bay Children's Social Care)",
/// how to reach them, and their involvements with the child. Naming them to a recipient who
/// may not see one of those involvements would betray it (rule 3), so the only way to the
/// name is [`Named::shown_to`].
struct Named {
    person: String,
    reach: String,
    involvements: Vec<InvolvementRow>,
}

impl Named {
    fn load(conn: &mut PgConnection, child: Uuid, practitioner: Uuid) -> QueryResult<Named> {
        let (name, email, phone, agency) = practitioners::card(conn, practitioner)?;
        let involvements = involvements::of_practitioner(conn, child, practitioner)?;
        let reach = match phone {
            Some(p) => format!("Contact: {email}, {p}"),
            None => format!("Contact: {email}"),
        };
        Ok(Named {
            person: format!("{name} ({agency})"),
            reach,
            involvements,
        })
    }

    /// The name and contact line, for a recipient who may see this practitioner.
    fn shown_to(&self, recipient: &Reader) -> Option<(&str, &str)> {
        recipient
            .sees_all(&self.involvements)
            .then_some((self.person.as_str(), self.reach.as_str()))
    }
}

/// Someone joined or left the team: told to those who may see the involvement.
pub fn team_changed(
    conn: &mut PgConnection,
    cx: &Context,
    inv: &InvolvementRow,
    joined: bool,
) -> ServiceResult<usize> {
    let audience =
        readers::audience_for_involvement(conn, inv, &[cx.actor, inv.practitioner_id], cx.today)?;
    if audience.is_empty() {
        return Ok(0);
    }
    let recipients = readers::load_many(conn, &audience, cx.today)?;
    let initials = Initials::load(conn, inv.child_id, &recipients)?;
    let named = Named::load(conn, inv.child_id, inv.practitioner_id)?;
    let verb = if joined {
        "joined the team"
    } else {
        "left the team"
    };
    Ok(outbox::enqueue(
        conn,
        NotificationKind::TeamChanged,
        Some(inv.child_id),
        &recipients,
        |recipient| match named
            .shown_to(recipient)
            .filter(|_| !policy::is_restricted(inv))
        {
            Some((person, reach)) => compose::about_child(
                cx.links,
                inv.child_id,
                initials.of(recipient),
                &format!("{person} {verb}"),
                &[format!("Role: {}", inv.role), reach.to_owned()],
            ),
            None => compose::about_child(
                cx.links,
                inv.child_id,
                initials.of(recipient),
                "the team has changed",
                &[],
            ),
        },
    )?)
}

/// The lead professional changed (to `lead`, or to nobody): told to the whole team, since a
/// lead is always a standard involvement.
pub fn lead_changed(
    conn: &mut PgConnection,
    cx: &Context,
    child: Uuid,
    lead: Option<&InvolvementRow>,
    previous: Option<&InvolvementRow>,
) -> ServiceResult<usize> {
    let anchor = match lead.or(previous) {
        Some(inv) => inv,
        None => return Ok(0),
    };
    let audience = readers::audience_for_involvement(conn, anchor, &[cx.actor], cx.today)?;
    let recipients = readers::load_many(conn, &audience, cx.today)?;
    let initials = Initials::load(conn, child, &recipients)?;
    let named = match lead {
        Some(inv) => Some(Named::load(conn, child, inv.practitioner_id)?),
        None => None,
    };
    Ok(outbox::enqueue(
        conn,
        NotificationKind::LeadChanged,
        Some(child),
        &recipients,
        |recipient| match named.as_ref().and_then(|n| n.shown_to(recipient)) {
            Some((person, reach)) => compose::about_child(
                cx.links,
                child,
                initials.of(recipient),
                &format!("{person} is now the lead professional"),
                &[reach.to_owned()],
            ),
            None => compose::about_child(
                cx.links,
                child,
                initials.of(recipient),
                "the team has no lead professional now",
                &[],
            ),
        },
    )?)
}

/// A contact did not happen because the child was not brought or nobody answered: told to the
/// lead professional and the team, among those who may see the involvement.
pub fn contact_missed(
    conn: &mut PgConnection,
    cx: &Context,
    inv: &InvolvementRow,
    outcome: ContactOutcome,
    at: DateTime<Utc>,
) -> ServiceResult<usize> {
    let audience = readers::audience_for_involvement(conn, inv, &[cx.actor], cx.today)?;
    if audience.is_empty() {
        return Ok(0);
    }
    let recipients = readers::load_many(conn, &audience, cx.today)?;
    let initials = Initials::load(conn, inv.child_id, &recipients)?;
    let named = Named::load(conn, inv.child_id, inv.practitioner_id)?;
    let what = match outcome {
        ContactOutcome::WasNotBrought => "was not brought to a contact",
        _ => "could not be seen: no access",
    };
    let headline = format!("the child {what}");
    Ok(outbox::enqueue(
        conn,
        NotificationKind::ContactMissed,
        Some(inv.child_id),
        &recipients,
        |recipient| {
            let details = match named
                .shown_to(recipient)
                .filter(|_| !policy::is_restricted(inv))
            {
                Some((person, reach)) => vec![
                    format!("On {} — recorded by {person}.", at.format("%-d %B %Y")),
                    reach.to_owned(),
                ],
                None => Vec::new(),
            };
            compose::about_child(
                cx.links,
                inv.child_id,
                initials.of(recipient),
                &headline,
                &details,
            )
        },
    )?)
}

/// A task was assigned to `assignee`.
pub fn task_assigned(
    conn: &mut PgConnection,
    cx: &Context,
    task: &TaskRow,
    assignee: Uuid,
) -> ServiceResult<usize> {
    if assignee == cx.actor {
        return Ok(0);
    }
    let recipients = readers::load_many(conn, &[assignee], cx.today)?;
    let initials = Initials::load(conn, task.child_id, &recipients)?;
    let named = Named::load(conn, task.child_id, cx.actor)?;
    Ok(outbox::enqueue(
        conn,
        NotificationKind::TaskAssigned,
        Some(task.child_id),
        &recipients,
        |recipient| {
            let mut details = Vec::new();
            if let Some(due) = task.due_on {
                details.push(format!("Due on {}.", due.format("%-d %B %Y")));
            }
            if let Some((person, reach)) = named.shown_to(recipient) {
                details.push(format!("Assigned by {person}."));
                details.push(reach.to_owned());
            }
            compose::about_child(
                cx.links,
                task.child_id,
                initials.of(recipient),
                "a task was assigned to you",
                &details,
            )
        },
    )?)
}

/// A task was reassigned away from `previous`.
pub fn task_unassigned(
    conn: &mut PgConnection,
    cx: &Context,
    task: &TaskRow,
    previous: Uuid,
) -> ServiceResult<usize> {
    if previous == cx.actor {
        return Ok(0);
    }
    let recipients = readers::load_many(conn, &[previous], cx.today)?;
    let initials = Initials::load(conn, task.child_id, &recipients)?;
    Ok(outbox::enqueue(
        conn,
        NotificationKind::TaskAssigned,
        Some(task.child_id),
        &recipients,
        |recipient| {
            compose::about_child(
                cx.links,
                task.child_id,
                initials.of(recipient),
                "a task is no longer assigned to you",
                &[],
            )
        },
    )?)
}

/// A task was completed: told to its creator, when the creator may still see the task (it
/// names the one who completed it, the assignee).
pub fn task_completed(
    conn: &mut PgConnection,
    cx: &Context,
    task: &TaskRow,
) -> ServiceResult<usize> {
    if task.created_by == cx.actor {
        return Ok(0);
    }
    let named = Named::load(conn, task.child_id, cx.actor)?;
    let recipients: Vec<Reader> = readers::load_many(conn, &[task.created_by], cx.today)?
        .into_iter()
        .filter(|r| named.shown_to(r).is_some())
        .collect();
    let initials = Initials::load(conn, task.child_id, &recipients)?;
    Ok(outbox::enqueue(
        conn,
        NotificationKind::TaskCompleted,
        Some(task.child_id),
        &recipients,
        |recipient| {
            let details = match named.shown_to(recipient) {
                Some((person, _)) => vec![format!("Completed by {person}.")],
                None => Vec::new(),
            };
            compose::about_child(
                cx.links,
                task.child_id,
                initials.of(recipient),
                "a task you created was completed",
                &details,
            )
        },
    )?)
}

/// A team member raised attention: every other team member who may see the sender's
/// involvement is told at once. Returns the recipients.
pub fn attention(
    conn: &mut PgConnection,
    cx: &Context,
    sender: &InvolvementRow,
    message: &str,
) -> ServiceResult<Vec<Uuid>> {
    let audience = readers::audience_for_involvement(conn, sender, &[cx.actor], cx.today)?;
    if audience.is_empty() {
        return Ok(audience);
    }
    let recipients = readers::load_many(conn, &audience, cx.today)?;
    let initials = Initials::load(conn, sender.child_id, &recipients)?;
    let named = Named::load(conn, sender.child_id, sender.practitioner_id)?;
    let quoted = format!("“{message}”");
    outbox::enqueue(
        conn,
        NotificationKind::AttentionRaised,
        Some(sender.child_id),
        &recipients,
        |recipient| match named
            .shown_to(recipient)
            .filter(|_| !policy::is_restricted(sender))
        {
            Some((person, reach)) => compose::about_child(
                cx.links,
                sender.child_id,
                initials.of(recipient),
                &format!("{person} raised attention"),
                &[quoted.clone(), reach.to_owned()],
            ),
            None => compose::about_child(
                cx.links,
                sender.child_id,
                initials.of(recipient),
                "a team member raised attention",
                std::slice::from_ref(&quoted),
            ),
        },
    )?;
    Ok(audience)
}
