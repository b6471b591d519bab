//! Reading the audit trail: the log for admins, and who opened a child's record for its team.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Timestamptz;
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::db::bound::BoundSql;
use crate::db::models::AuditEventRow;
use crate::db::schema::audit_events;
use crate::domain::AuditAction;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::page::{self, Page};
use crate::state::AppState;

/// How far back `recentViewers` looks (rule 9).
pub const RECENT_VIEW_DAYS: i64 = 90;
/// At most this many viewers are listed.
pub const MAX_VIEWERS: i64 = 100;

/// What the audit log may be narrowed to.
#[derive(Debug, Default)]
pub struct AuditFilter {
    pub child_id: Option<Uuid>,
    pub practitioner_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

/// The audit log, newest first, within what the caller may read.
pub async fn events(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    filter: AuditFilter,
    first: i32,
    after: Option<String>,
) -> ServiceResult<Page<AuditEventRow>> {
    let scope = policy::audit_scope_sql(&actor, "audit_events")?;
    let limit = page::check_first(first)?;
    let after: Option<i64> = page::decode(after.as_deref())?;
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            return Err(ServiceError::invalid("to", "must not be before from"));
        }
    }
    if filter.action.as_deref().is_some_and(|a| a.len() > 64) {
        return Err(ServiceError::invalid(
            "action",
            "must be at most 64 characters",
        ));
    }
    // The read is itself recorded, with what was asked, in the same transaction (rule 8).
    let asked = serde_json::json!({
        "childId": filter.child_id,
        "practitionerId": filter.practitioner_id,
        "action": filter.action,
        "from": filter.from,
        "to": filter.to,
        "first": first,
        "after": after,
    });
    let meta = meta.clone();
    let unseal = policy::may_read_sealed_audit(&actor);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let mut query = audit_events::table
                .filter(scope)
                .select(AuditEventRow::as_select())
                .order(audit_events::id.desc())
                .limit(limit + 1)
                .into_boxed();
            if let Some(child) = filter.child_id {
                query = query.filter(audit_events::child_id.eq(child));
            }
            if let Some(p) = filter.practitioner_id {
                query = query.filter(audit_events::actor_id.eq(p));
            }
            if let Some(action) = filter.action {
                query = query.filter(audit_events::action.eq(action));
            }
            if let Some(from) = filter.from {
                query = query.filter(audit_events::at.ge(from));
            }
            if let Some(to) = filter.to {
                query = query.filter(audit_events::at.lt(to));
            }
            if let Some(id) = after {
                query = query.filter(audit_events::id.lt(id));
            }
            let mut rows: Vec<AuditEventRow> = query.load(conn)?;
            for row in &mut rows {
                let sealed = std::mem::take(&mut row.sealed);
                if let (true, serde_json::Value::Object(sealed)) = (unseal, sealed) {
                    if let serde_json::Value::Object(details) = &mut row.details {
                        details.extend(sealed);
                    }
                }
            }
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    details: Some(asked),
                    ..AuditEvent::of(AuditAction::AuditLogRead)
                },
            )?;
            Ok(page::paginate(rows, limit, |e: &AuditEventRow| e.id))
        })
    })
    .await
}

/// One person who opened the child's record recently.
#[derive(Debug, QueryableByName)]
pub struct Viewer {
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub practitioner_id: Uuid,
    #[diesel(sql_type = Timestamptz)]
    pub last_viewed_at: DateTime<Utc>,
}

/// Who opened the child's record in the last 90 days, most recent first (rule 9): only for
/// readers of the record, and never a viewer whose listing would betray a hidden involvement.
pub async fn recent_viewers(
    state: &AppState,
    reader: Reader,
    child: Uuid,
) -> ServiceResult<Vec<Viewer>> {
    crate::db::run(&state.pool, move |conn| {
        let since = Utc::now() - chrono::Duration::days(RECENT_VIEW_DAYS);
        Ok(BoundSql::new(
            "SELECT a.actor_id AS practitioner_id, max(a.at) AS last_viewed_at \
             FROM audit_events a WHERE a.action = ",
        )
        .text(AuditAction::ChildViewed.as_str())
        .sql(" AND a.child_id = ")
        .uuid(child)
        .sql(" AND a.at >= ")
        .timestamptz(since)
        .sql(" AND a.actor_id IS NOT NULL AND ")
        .append(policy::child_readable_sql(&reader, "a.child_id"))
        .sql(" AND ")
        .append(policy::view_listable_sql(&reader, "a"))
        .sql(" GROUP BY a.actor_id ORDER BY last_viewed_at DESC, a.actor_id LIMIT ")
        .bigint(MAX_VIEWERS)
        .query()
        .load(conn)?)
    })
    .await
}
