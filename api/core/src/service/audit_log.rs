//! Reading the audit trail: the log for admins, and who opened a child's record for its team.

use chrono::Utc;
use diesel::Connection;
use uuid::Uuid;

use crate::auth::{Actor, RequestMeta};
use crate::db::audit_events;
use crate::db::models::AuditEventRow;

pub use crate::db::audit_events::{Filter as AuditFilter, Viewer};
use crate::domain::AuditAction;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::error::{ServiceError, ServiceResult};
use crate::service::page::{self, Page, PageRequest, Slice};
use crate::state::AppState;

/// How far back `recentViewers` looks (rule 9).
pub const RECENT_VIEW_DAYS: i64 = 90;
/// At most this many viewers are listed.
pub const MAX_VIEWERS: i64 = 100;

/// The audit log, newest first, within what the caller may read.
pub async fn events(
    state: &AppState,
    actor: Actor,
    meta: &RequestMeta,
    filter: AuditFilter,
    request: &PageRequest,
) -> ServiceResult<Page<AuditEventRow>> {
    let scope = policy::audit_scope_sql(&actor, "audit_events")?;
    let slice: Slice<i64> = request.slice()?;
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
        "first": request.first,
        "after": slice.after,
        "last": request.last,
        "before": slice.before,
    });
    let meta = meta.clone();
    let unseal = policy::may_read_sealed_audit(&actor);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let mut rows = audit_events::page(conn, scope, &filter, slice.clone())?;
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
            Ok(page::paginate(rows, &slice, |e: &AuditEventRow| e.id))
        })
    })
    .await
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
        let listable = policy::child_readable_sql(&reader, "a.child_id")
            .sql(" AND ")
            .append(policy::view_listable_sql(&reader, "a"));
        Ok(audit_events::viewers(
            conn,
            child,
            since,
            listable,
            MAX_VIEWERS,
        )?)
    })
    .await
}
