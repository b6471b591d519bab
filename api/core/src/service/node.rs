//! Anything with an id of its own, fetched by that id alone (Relay's `node`), under the same
//! rules as fetching it by its kind.

use uuid::Uuid;

use crate::auth::RequestMeta;
use crate::db::models::{AgencyRow, ChildRow, InvolvementRow, PractitionerRow, TaskRow};
use crate::db::nodes::{self, Filters, NodeKind};
use crate::policy::{self, Reader};
use crate::service::error::ServiceResult;
use crate::service::{agency, child, involvement, practitioner, task};
use crate::state::AppState;

/// A thing found by its id.
#[derive(Debug)]
pub enum Node {
    Child(ChildRow),
    Involvement(InvolvementRow),
    Task(TaskRow),
    Practitioner(PractitionerRow),
    Agency(AgencyRow),
}

/// The thing `id` names, if the reader may see it: nothing, alike, when the id names nothing
/// and when it names something hidden from the reader. A child is read (and its reading
/// audited) as `child(id:)` reads it.
pub async fn get_node(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<Option<Node>> {
    let filters = Filters {
        child: policy::child_readable_sql(&reader, "children.id"),
        involvement: policy::involvement_readable_sql(&reader),
        task: policy::task_readable_sql(&reader, "tasks"),
    };
    let kind = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
        Ok(nodes::kind_of(conn, id, filters)?)
    })
    .await?;
    let ids = vec![id];
    Ok(match kind {
        None => None,
        Some(NodeKind::Child) => child::get_child(state, reader, meta, id)
            .await?
            .map(Node::Child),
        Some(NodeKind::Involvement) => involvement::involvements_by_ids(state, reader, ids)
            .await?
            .remove(&id)
            .map(Node::Involvement),
        Some(NodeKind::Task) => task::tasks_by_ids(state, reader, ids)
            .await?
            .remove(&id)
            .map(Node::Task),
        Some(NodeKind::Practitioner) => practitioner::practitioners_by_ids(state, ids)
            .await?
            .remove(&id)
            .map(Node::Practitioner),
        Some(NodeKind::Agency) => agency::agencies_by_ids(state, ids)
            .await?
            .remove(&id)
            .map(Node::Agency),
    })
}
