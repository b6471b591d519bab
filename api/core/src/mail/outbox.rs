//! Writing notifications to the outbox, inside the caller's transaction, honouring each
//! recipient's preferences.

use std::collections::HashMap;

use diesel::{PgConnection, QueryResult};
use uuid::Uuid;

use crate::db::notifications::{self, NewMessage};
use crate::domain::{Delivery, NotificationKind, OutboxStatus};
use crate::mail::compose::Content;
use crate::policy::Reader;

/// Each recipient's delivery choice for `kind` (IMMEDIATE unless they chose otherwise).
pub fn deliveries(
    conn: &mut PgConnection,
    recipients: &[Uuid],
    kind: NotificationKind,
) -> QueryResult<HashMap<Uuid, Delivery>> {
    let active = notifications::active_recipients(conn, recipients)?;
    let mut out: HashMap<Uuid, Delivery> = active
        .into_iter()
        .map(|p| (p, Delivery::Immediate))
        .collect();
    if kind.always_immediate() {
        return Ok(out);
    }
    for (p, d) in notifications::chosen_deliveries(conn, recipients, kind)? {
        if let (Some(slot), Ok(d)) = (out.get_mut(&p), d.parse()) {
            *slot = d;
        }
    }
    Ok(out)
}

/// Queues one message about `child` per recipient, each rendered by `render` for that
/// recipient's reader, so that it holds only what they may see. Recipients who turned the kind
/// off, or whose account is inactive, get nothing; digest readers' messages wait for the
/// digest. Returns how many messages were queued.
pub fn enqueue(
    conn: &mut PgConnection,
    kind: NotificationKind,
    child: Option<Uuid>,
    recipients: &[Reader],
    render: impl Fn(&Reader) -> Content,
) -> QueryResult<usize> {
    let ids: Vec<Uuid> = recipients.iter().map(|r| r.actor.practitioner_id).collect();
    let by_id: Vec<(Uuid, &Reader)> = ids.iter().copied().zip(recipients).collect();
    write(conn, kind, child, &ids, |id| {
        let reader = by_id
            .iter()
            .find(|(r, _)| *r == id)
            .map(|(_, reader)| *reader)
            .expect("a recipient's reader");
        render(reader)
    })
}

/// Queues a message that concerns no child and names nobody else (an invitation).
pub fn enqueue_personal(
    conn: &mut PgConnection,
    kind: NotificationKind,
    recipient: Uuid,
    content: Content,
) -> QueryResult<usize> {
    write(conn, kind, None, &[recipient], |_| content.clone())
}

fn write(
    conn: &mut PgConnection,
    kind: NotificationKind,
    child: Option<Uuid>,
    recipients: &[Uuid],
    render: impl Fn(Uuid) -> Content,
) -> QueryResult<usize> {
    if recipients.is_empty() {
        return Ok(0);
    }
    let choices = deliveries(conn, recipients, kind)?;
    let mut queued = 0;
    for recipient in recipients {
        let status = match choices.get(recipient) {
            None | Some(Delivery::Off) => continue,
            Some(Delivery::Immediate) => OutboxStatus::Pending,
            Some(Delivery::DailyDigest) => OutboxStatus::Waiting,
        };
        let content = render(*recipient);
        notifications::insert(
            conn,
            NewMessage {
                recipient: *recipient,
                kind: kind.as_str(),
                child,
                status,
                subject: &content.subject,
                text: &content.text,
                html: &content.html,
                digest_line: Some(content.digest_line.as_str()).filter(|l| !l.is_empty()),
            },
        )?;
        queued += 1;
    }
    Ok(queued)
}
