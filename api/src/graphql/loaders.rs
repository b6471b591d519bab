//! One DataLoader per relation, created per request so that a screen costs a fixed number of
//! SQL statements whatever the size of the team.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use uuid::Uuid;

use crate::db::models::{AgencyRow, PractitionerRow};
use crate::graphql::error::refusal;
use crate::service::{agency, error::ServiceError, practitioner};
use crate::state::AppState;

/// Agencies by id.
pub struct AgencyLoader(pub AppState);

impl Loader<Uuid> for AgencyLoader {
    type Value = AgencyRow;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, AgencyRow>, Self::Error> {
        agency::agencies_by_ids(&self.0, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// Practitioner profiles by id (profiles are visible to everyone signed in: rule 7).
pub struct PractitionerLoader(pub AppState);

impl Loader<Uuid> for PractitionerLoader {
    type Value = PractitionerRow;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, PractitionerRow>, Self::Error> {
        practitioner::practitioners_by_ids(&self.0, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// Turns a loader's shared error back into a GraphQL error.
pub fn loader_error(err: Arc<ServiceError>) -> async_graphql::Error {
    match Arc::try_unwrap(err) {
        Ok(e) => refusal(e),
        Err(shared) => refusal(ServiceError::Internal(anyhow::anyhow!("{shared:?}"))),
    }
}

use crate::db::models::{ChildRow, ContactRow, InvolvementRow, TaskRow};

/// Profiles, cached for the request so that rows loaded with a team need no second query.
pub type Practitioners = DataLoader<PractitionerLoader, HashMapCache>;
/// Agencies, cached likewise.
pub type Agencies = DataLoader<AgencyLoader, HashMapCache>;
use crate::auth::RequestMeta;
use crate::graphql::context::RequestReader;
use crate::service::involvement::TeamMember;
use crate::service::task::TaskWithAssignee;
use crate::service::{child, contact, involvement, task};

/// Children by id as the reader sees them: only those whose record the reader may read, each
/// read recorded against the child.
pub struct ChildLoader(pub AppState, pub Arc<RequestReader>, pub RequestMeta);

impl Loader<Uuid> for ChildLoader {
    type Value = ChildRow;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, ChildRow>, Self::Error> {
        let reader = self.1.get().map_err(Arc::new)?;
        child::children_by_ids(&self.0, reader, &self.2, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// A child's team as the reader may see it; the key says whether ended involvements count.
pub struct TeamLoader(pub AppState, pub Arc<RequestReader>);

impl Loader<(Uuid, bool)> for TeamLoader {
    type Value = Vec<TeamMember>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[(Uuid, bool)],
    ) -> Result<HashMap<(Uuid, bool), Vec<TeamMember>>, Self::Error> {
        let reader = self.1.get().map_err(Arc::new)?;
        let include_ended = keys.iter().any(|(_, ended)| *ended);
        let ids: Vec<Uuid> = keys.iter().map(|(id, _)| *id).collect();
        let teams = involvement::teams(&self.0, reader, ids, include_ended)
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|&(id, ended)| {
                let rows = teams
                    .get(&id)
                    .map(|rows| {
                        rows.iter()
                            .filter(|r| ended || r.involvement.ended_on.is_none())
                            .cloned()
                            .collect()
                    })
                    .unwrap_or_default();
                ((id, ended), rows)
            })
            .collect())
    }
}

/// Involvements by id, as the reader may see them.
pub struct InvolvementLoader(pub AppState, pub Arc<RequestReader>);

impl Loader<Uuid> for InvolvementLoader {
    type Value = InvolvementRow;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, InvolvementRow>, Self::Error> {
        let reader = self.1.get().map_err(Arc::new)?;
        involvement::involvements_by_ids(&self.0, reader, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// A child's tasks as the reader may see them.
pub struct TaskLoader(pub AppState, pub Arc<RequestReader>);

impl Loader<Uuid> for TaskLoader {
    type Value = Vec<TaskWithAssignee>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[Uuid],
    ) -> Result<HashMap<Uuid, Vec<TaskWithAssignee>>, Self::Error> {
        let reader = self.1.get().map_err(Arc::new)?;
        let mut found = task::tasks_of(&self.0, reader, keys.to_vec())
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|k| (*k, found.remove(k).unwrap_or_default()))
            .collect())
    }
}

/// Tasks by id, as the reader may see them.
pub struct TaskByIdLoader(pub AppState, pub Arc<RequestReader>);

impl Loader<Uuid> for TaskByIdLoader {
    type Value = TaskRow;
    type Error = Arc<ServiceError>;

    async fn load(&self, keys: &[Uuid]) -> Result<HashMap<Uuid, TaskRow>, Self::Error> {
        let reader = self.1.get().map_err(Arc::new)?;
        task::tasks_by_ids(&self.0, reader, keys.to_vec())
            .await
            .map_err(Arc::new)
    }
}

/// The newest contacts of an involvement; the key carries how many.
pub struct ContactLoader(pub AppState, pub Arc<RequestReader>);

impl Loader<(Uuid, i64)> for ContactLoader {
    type Value = Vec<ContactRow>;
    type Error = Arc<ServiceError>;

    async fn load(
        &self,
        keys: &[(Uuid, i64)],
    ) -> Result<HashMap<(Uuid, i64), Vec<ContactRow>>, Self::Error> {
        let most = keys.iter().map(|(_, n)| *n).max().unwrap_or(0);
        let ids: Vec<Uuid> = keys.iter().map(|(id, _)| *id).collect();
        let reader = self.1.get().map_err(Arc::new)?;
        let found = contact::contacts_of(&self.0, reader, ids, most)
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|&(id, n)| {
                let rows = found
                    .get(&id)
                    .map(|r| r.iter().take(n as usize).cloned().collect())
                    .unwrap_or_default();
                ((id, n), rows)
            })
            .collect())
    }
}

/// Team screens read ahead by a query's `child(id:)` (one trip to the database for the child,
/// its team and its tasks), for that child's `team`, `leadProfessional` and `tasks` to use
/// instead of loading again. Only queries read ahead: nothing in them writes, so nothing read
/// ahead goes stale within the request.
#[derive(Default)]
pub struct ReadAhead(std::sync::Mutex<HashMap<Uuid, Ahead>>);

#[derive(Default)]
struct Ahead {
    team: Option<Vec<TeamMember>>,
    tasks: Option<Vec<TaskWithAssignee>>,
}

impl ReadAhead {
    pub fn put(
        &self,
        child: Uuid,
        team: Option<Vec<TeamMember>>,
        tasks: Option<Vec<TaskWithAssignee>>,
    ) {
        if let Ok(mut ahead) = self.0.lock() {
            ahead.insert(child, Ahead { team, tasks });
        }
    }

    /// The child's active team, if it was read ahead.
    pub fn team(&self, child: Uuid) -> Option<Vec<TeamMember>> {
        self.0.lock().ok()?.get(&child)?.team.clone()
    }

    /// The child's tasks, if they were read ahead.
    pub fn tasks(&self, child: Uuid) -> Option<Vec<TaskWithAssignee>> {
        self.0.lock().ok()?.get(&child)?.tasks.clone()
    }
}
