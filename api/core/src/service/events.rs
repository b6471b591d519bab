//! Changes to teams as events, for the webhooks and the change feed: each `activity` row named
//! by a type (`team.member_joined`, `task.assigned`, ...) and described as one reader may see
//! it. The rows are chosen by [`policy::event_visible_sql`]; what an event names is loaded
//! through the same rules, so a description never holds what its reader may not see.

use std::collections::HashMap;

use chrono::SecondsFormat;
use diesel::PgConnection;
use serde_json::{json, Value};
use uuid::Uuid;

use crate::db::activity::{self, FeedPosition, FeedRow};
use crate::db::models::{ActivityRow, InvolvementRow, TaskRow};
use crate::db::{agencies, agency_refs, contacts, involvements, practitioners, tasks};
use crate::domain::ActivityKind;
use crate::policy::{self, Reader};
use crate::service::error::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Every event type, as webhooks subscribe to them.
pub const TYPES: &[&str] = &[
    "team.member_joined",
    "team.member_left",
    "team.member_updated",
    "team.lead_changed",
    "task.created",
    "task.assigned",
    "task.updated",
    "task.completed",
    "task.cancelled",
    "task.reopened",
    "contact.recorded",
    "contact.missed",
    "attention.raised",
];

/// One event as its reader may see it.
#[derive(Clone, Debug)]
pub struct Event {
    /// The change's id (the `activity` row).
    pub id: Uuid,
    pub kind: &'static str,
    pub at: chrono::DateTime<chrono::Utc>,
    pub child_id: Uuid,
    /// What the event names: the child, and the involvement, task or contact concerned.
    pub data: Value,
    pub position: FeedPosition,
}

impl Event {
    /// The event's time as the payloads write it.
    pub fn timestamp(&self) -> String {
        self.at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

/// Records a change (in its transaction) and queues it for every webhook whose agency may see
/// it now, described as that agency sees it.
pub fn record(
    conn: &mut PgConnection,
    today: chrono::NaiveDate,
    change: crate::db::activity::Change,
) -> ServiceResult<Uuid> {
    let id = crate::db::activity::record(conn, change)?;
    crate::service::webhook::enqueue(conn, id, today)?;
    Ok(id)
}

/// A page of the change feed.
pub struct ChangePage {
    pub events: Vec<Event>,
    /// Where the next page starts: the id of the last change read (every one read is visible
    /// to the reader), or the cursor given when none was.
    pub end_cursor: Option<Uuid>,
    /// Whether more events may be read at once after this page's last.
    pub has_more: bool,
}

/// The changes `reader` may see, in commit order, after the change `after` (from the
/// beginning without one): up to `first` (1 to 100) of them. Only changes of transactions that
/// have all ended are listed, so none committed late is ever passed over. A page's cursor is
/// its last event's id: it says nothing of changes the reader may not see.
pub async fn changes(
    state: &AppState,
    reader: Reader,
    after: Option<String>,
    first: i64,
    references: bool,
) -> ServiceResult<ChangePage> {
    if !(1..=100).contains(&first) {
        return Err(ServiceError::invalid("first", "must be 1 to 100"));
    }
    let after = after
        .map(|a| {
            Uuid::parse_str(a.trim())
                .map_err(|_| ServiceError::invalid("after", "is not an event id from this feed"))
        })
        .transpose()?;
    crate::db::run(&state.pool, move |conn| {
        let start = match after {
            None => FeedPosition {
                txid: i64::MIN,
                seq: i64::MIN,
            },
            Some(id) => activity::position_of(conn, id)?.ok_or_else(|| {
                ServiceError::invalid("after", "is not an event id from this feed")
            })?,
        };
        let mut rows = activity::feed(
            conn,
            start,
            None,
            policy::event_visible_sql(&reader, "activity"),
            first + 1,
        )?;
        let has_more = rows.len() as i64 > first;
        rows.truncate(first as usize);
        let end_cursor = rows.last().map(|r| r.row.id).or(after);
        Ok(ChangePage {
            events: describe(conn, &reader, rows, references)?,
            end_cursor,
            has_more,
        })
    })
    .await
}

fn type_of(row: &ActivityRow, task: Option<&TaskRow>) -> Option<&'static str> {
    let kind: ActivityKind = row.kind.parse().ok()?;
    Some(match kind {
        ActivityKind::InvolvementStarted => "team.member_joined",
        ActivityKind::InvolvementEnded => "team.member_left",
        ActivityKind::InvolvementUpdated => "team.member_updated",
        ActivityKind::LeadAssigned | ActivityKind::LeadRemoved => "team.lead_changed",
        ActivityKind::TaskCreated if task.is_some_and(|t| t.assignee_id.is_some()) => {
            "task.assigned"
        }
        ActivityKind::TaskCreated => "task.created",
        ActivityKind::TaskAssigned => "task.assigned",
        ActivityKind::TaskUpdated => "task.updated",
        ActivityKind::TaskCompleted => "task.completed",
        ActivityKind::TaskCancelled => "task.cancelled",
        ActivityKind::TaskReopened => "task.reopened",
        ActivityKind::ContactRecorded => match row.details["outcome"].as_str() {
            Some("WAS_NOT_BROUGHT" | "NO_ACCESS") => "contact.missed",
            _ => "contact.recorded",
        },
        ActivityKind::AttentionRaised => "attention.raised",
    })
}

/// Describes `rows` (already chosen by [`policy::event_visible_sql`] for `reader`), in their
/// order. With `references`, the reader's agency's own references for children and
/// involvements are included (for machine clients). A row whose subject cannot be loaded
/// under the reader's rules is left out.
pub fn describe(
    conn: &mut PgConnection,
    reader: &Reader,
    rows: Vec<FeedRow>,
    references: bool,
) -> ServiceResult<Vec<Event>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids = |f: fn(&ActivityRow) -> Option<Uuid>| -> Vec<Uuid> {
        let mut v: Vec<Uuid> = rows.iter().filter_map(|r| f(&r.row)).collect();
        v.sort();
        v.dedup();
        v
    };
    let task_ids = ids(|r| r.task_id);
    let contact_ids = ids(|r| r.contact_id);
    let child_ids = ids(|r| Some(r.child_id));
    let task_rows: HashMap<Uuid, TaskRow> =
        tasks::by_ids(conn, &task_ids, policy::task_visible_sql(reader, "tasks"))?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    let contact_rows: HashMap<Uuid, _> = contacts::by_ids(conn, &contact_ids)?
        .into_iter()
        .map(|c| (c.id, c))
        .collect();
    let mut involvement_ids = ids(|r| r.involvement_id);
    involvement_ids.extend(contact_rows.values().map(|c| c.involvement_id));
    involvement_ids.sort();
    involvement_ids.dedup();
    let involvement_rows: HashMap<Uuid, InvolvementRow> = involvements::by_ids(
        conn,
        &involvement_ids,
        policy::involvement_visible_sql(reader, "involvements"),
    )?
    .into_iter()
    .map(|i| (i.id, i))
    .collect();
    let mut people: Vec<Uuid> = involvement_rows
        .values()
        .map(|i| i.practitioner_id)
        .chain(task_rows.values().filter_map(|t| t.assignee_id))
        .collect();
    people.sort();
    people.dedup();
    let names: HashMap<Uuid, String> = practitioners::by_ids(conn, &people)?
        .into_iter()
        .map(|p| (p.id, p.display_name))
        .collect();
    let mut agency_ids: Vec<Uuid> = involvement_rows.values().map(|i| i.agency_id).collect();
    agency_ids.sort();
    agency_ids.dedup();
    let agency_names: HashMap<Uuid, String> = agencies::by_ids(conn, &agency_ids)?
        .into_iter()
        .map(|a| (a.id, a.name))
        .collect();
    let (child_refs, involvement_refs): (HashMap<Uuid, String>, HashMap<Uuid, String>) =
        if references {
            let agency = reader.actor.agency_id;
            (
                agency_refs::child_refs(conn, agency, &child_ids)?
                    .into_iter()
                    .collect(),
                agency_refs::involvement_refs(conn, agency, &involvement_ids)?
                    .into_iter()
                    .collect(),
            )
        } else {
            (HashMap::new(), HashMap::new())
        };

    let person = |id: Uuid| json!({ "id": id, "displayName": names.get(&id) });
    // The involvement as the change left it (its snapshot), else as it is.
    let involvement = |inv: &InvolvementRow, then: &Value| {
        let then = then.as_object().filter(|o| o["id"] == json!(inv.id));
        let field = |name: &str, now: Value| then.map_or(now, |o| o[name].clone());
        let mut v = json!({
            "id": inv.id,
            "role": field("role", json!(inv.role)),
            "isLead": field("is_lead", json!(inv.is_lead)),
            "startedOn": field("started_on", json!(inv.started_on)),
            "endedOn": field("ended_on", json!(inv.ended_on)),
            "practitioner": person(inv.practitioner_id),
            "agency": { "id": inv.agency_id, "name": agency_names.get(&inv.agency_id) },
        });
        if let Some(r) = involvement_refs.get(&inv.id) {
            v["ref"] = json!(r);
        }
        v
    };

    let mut events = Vec::with_capacity(rows.len());
    for FeedRow {
        row,
        position,
        snapshot,
    } in rows
    {
        let snapshot = snapshot.unwrap_or(Value::Null);
        let task = row.task_id.and_then(|t| task_rows.get(&t));
        let Some(kind) = type_of(&row, task) else {
            continue;
        };
        let mut data = json!({ "eventId": row.id, "childId": row.child_id });
        if let Some(r) = child_refs.get(&row.child_id) {
            data["childRef"] = json!(r);
        }
        if let Some(id) = row.task_id {
            let Some(t) = task else { continue };
            debug_assert_eq!(t.id, id);
            // As the change left it; the assignee only if it is still the one the reader may
            // see named now.
            let then = snapshot["task"]
                .as_object()
                .filter(|o| o["id"] == json!(t.id));
            let field = |name: &str, now: Value| then.map_or(now, |o| o[name].clone());
            data["task"] = json!({
                "id": t.id,
                "title": field("title", json!(t.title)),
                "status": field("status", json!(t.status)),
                "dueOn": field("due_on", json!(t.due_on)),
                "assignee": t.assignee_id.map(person),
            });
        }
        if let Some(id) = row.contact_id {
            let Some(c) = contact_rows.get(&id) else {
                continue;
            };
            let Some(inv) = involvement_rows.get(&c.involvement_id) else {
                continue;
            };
            data["contact"] = json!({
                "id": c.id,
                "kind": c.kind,
                "outcome": c.outcome,
                "at": c.at.to_rfc3339_opts(SecondsFormat::Micros, true),
            });
            data["involvement"] = involvement(inv, &snapshot["involvement"]);
        } else if let Some(id) = row.involvement_id {
            let Some(inv) = involvement_rows.get(&id) else {
                continue;
            };
            data["involvement"] = involvement(inv, &snapshot["involvement"]);
        }
        events.push(Event {
            id: row.id,
            kind,
            at: row.at,
            child_id: row.child_id,
            data,
            position,
        });
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_activity_kind_has_a_type_webhooks_can_subscribe_to() {
        for kind in ActivityKind::ALL.iter().copied() {
            let row = ActivityRow {
                id: Uuid::nil(),
                child_id: Uuid::nil(),
                actor_id: None,
                kind: kind.as_str().to_owned(),
                involvement_id: None,
                task_id: None,
                contact_id: None,
                at: chrono::Utc::now(),
                details: json!({ "outcome": "NO_ACCESS" }),
            };
            let t = type_of(&row, None).unwrap();
            assert!(TYPES.contains(&t), "{t}");
        }
    }
}
