//! The team around the child: children, involvements, contacts, tasks, the timeline and
//! sharing agreements.

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Object, SimpleObject, ID};

use crate::db::models::{
    ActivityRow, ChildRow, ContactRow, InvolvementRow, SharingAgreementRow, TaskRow,
};
use crate::domain::ActivityKind;
use crate::graphql::context::{reader, ContextExt};
use crate::graphql::enums::{
    ConsentStatus, ContactKind, ContactOutcome, LawfulBasis, Sensitivity, TaskStatus,
};
use crate::graphql::error::{ResolverError, Result};
use crate::graphql::family;
use crate::graphql::inputs;
use crate::graphql::loaders::*;
use crate::graphql::scalars::{Date, Timestamp};
use crate::graphql::types::{stored, Agency, Practitioner};
use crate::service::error::ServiceError;
use crate::service::page::{Page, PageRequest};
use crate::service::{child, contact, involvement, parse_id, search, sharing, task};

fn id(uuid: uuid::Uuid) -> ID {
    ID(uuid.to_string())
}

fn missing(what: &str) -> ResolverError {
    ServiceError::Internal(anyhow::anyhow!("{what} vanished")).into()
}

async fn practitioner(ctx: &Context<'_>, pid: uuid::Uuid) -> Result<Practitioner> {
    ctx.data_unchecked::<Practitioners>()
        .load_one(pid)
        .await
        .map_err(loader_error)?
        .map(Practitioner)
        .ok_or_else(|| missing("practitioner"))
}

async fn agency(ctx: &Context<'_>, aid: uuid::Uuid) -> Result<Agency> {
    ctx.data_unchecked::<Agencies>()
        .load_one(aid)
        .await
        .map_err(loader_error)?
        .map(Agency)
        .ok_or_else(|| missing("agency"))
}

async fn child_of(ctx: &Context<'_>, cid: uuid::Uuid) -> Result<Child> {
    ctx.data_unchecked::<DataLoader<ChildLoader>>()
        .load_one(cid)
        .await
        .map_err(loader_error)?
        .map(Child)
        .ok_or_else(|| missing("child"))
}

/// The child's team as the reader may see it; the profiles and agencies loaded with it prime
/// the request's caches, so the team screen costs the same SQL for 3 members or 30.
async fn team_of(
    ctx: &Context<'_>,
    child: uuid::Uuid,
    include_ended: bool,
) -> Result<Vec<InvolvementRow>> {
    let ahead = (!include_ended)
        .then(|| ctx.data_opt::<ReadAhead>().and_then(|a| a.team(child)))
        .flatten();
    let members = match ahead {
        Some(members) => members,
        None => ctx
            .data_unchecked::<DataLoader<TeamLoader>>()
            .load_one((child, include_ended))
            .await
            .map_err(loader_error)?
            .unwrap_or_default(),
    };
    Ok(feed_members(ctx, members).await)
}

/// Primes the request's profile and agency caches with the members' own, and answers their
/// involvements.
pub(crate) async fn feed_members(
    ctx: &Context<'_>,
    members: Vec<involvement::TeamMember>,
) -> Vec<InvolvementRow> {
    ctx.data_unchecked::<Practitioners>()
        .feed_many(
            members
                .iter()
                .map(|m| (m.practitioner.id, m.practitioner.clone())),
        )
        .await;
    ctx.data_unchecked::<Agencies>()
        .feed_many(members.iter().map(|m| (m.agency.id, m.agency.clone())))
        .await;
    members.into_iter().map(|m| m.involvement).collect()
}

/// The person at the centre.
pub struct Child(pub ChildRow);

#[Object]
impl Child {
    pub async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn given_name(&self) -> &str {
        &self.0.given_name
    }
    async fn family_name(&self) -> &str {
        &self.0.family_name
    }
    async fn date_of_birth(&self) -> Date {
        Date(self.0.date_of_birth)
    }
    async fn gender(&self) -> Option<&str> {
        self.0.gender.as_deref()
    }
    async fn postcode(&self) -> Option<&str> {
        self.0.postcode.as_deref()
    }
    /// Changes only when the child's own fields change, never with the team.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// Active involvements the reader may see; with includeEnded also ended ones.
    async fn team(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(false)")] include_ended: Option<bool>,
    ) -> Result<Vec<Involvement>> {
        let members = team_of(ctx, self.0.id, include_ended.unwrap_or(false)).await?;
        Ok(members.into_iter().map(Involvement).collect())
    }
    /// Only a STANDARD involvement can be lead; at most one per child.
    async fn lead_professional(&self, ctx: &Context<'_>) -> Result<Option<Involvement>> {
        let members = team_of(ctx, self.0.id, false).await?;
        Ok(members.into_iter().find(|r| r.is_lead).map(Involvement))
    }
    /// A task is visible only to readers who may see every practitioner it names.
    async fn tasks(&self, ctx: &Context<'_>, status: Option<TaskStatus>) -> Result<Vec<Task>> {
        let ahead = ctx.data_opt::<ReadAhead>().and_then(|a| a.tasks(self.0.id));
        let rows = match ahead {
            Some(rows) => rows,
            None => ctx
                .data_unchecked::<DataLoader<TaskLoader>>()
                .load_one(self.0.id)
                .await
                .map_err(loader_error)?
                .unwrap_or_default(),
        };
        // The assignees came with the tasks: prime the profile cache instead of asking again.
        ctx.data_unchecked::<Practitioners>()
            .feed_many(
                rows.iter()
                    .filter_map(|t| t.assignee.clone().map(|p| (p.id, p))),
            )
            .await;
        Ok(rows
            .into_iter()
            .filter(|t| {
                status.is_none_or(|s| t.task.status == crate::domain::TaskStatus::from(s).as_str())
            })
            .map(|t| Task(t.task))
            .collect())
    }
    /// Newest first. `first`/`after` page forwards, `last`/`before` backwards (`first` is then
    /// ignored).
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TimelineConnection> {
        let reader = reader(ctx)?;
        let request = page_request(first, after, last, before);
        let page = child::timeline(ctx.state(), reader, self.0.id, &request).await?;
        Ok(TimelineConnection::from(page))
    }
    /// Siblings, parents and carers recorded for the child: a sibling only when the reader may
    /// read both records, and nothing recorded by a practitioner whose involvement the reader
    /// may not see.
    async fn family(&self, ctx: &Context<'_>) -> Result<Vec<family::FamilyMember>> {
        family::family_of(ctx, self.0.id).await
    }
    /// The active team of the child and of each sibling in `family`, as the reader may see
    /// them: the child's own first.
    async fn family_team(&self, ctx: &Context<'_>) -> Result<Vec<Involvement>> {
        let members = family::family_team_of(ctx, self.0.id).await?;
        Ok(feed_members(ctx, members)
            .await
            .into_iter()
            .map(Involvement)
            .collect())
    }
    /// The picture of the network around the child, as the reader may see it: the child,
    /// agencies with their practitioners, and the family, as nodes and edges to draw.
    async fn network(&self, ctx: &Context<'_>) -> Result<family::ChildNetwork> {
        family::network_of(ctx, &self.0).await
    }
    /// Who opened this record in the last 90 days, most recent first: agency and name, so that
    /// snooping is visible. A viewer whose agency's involvement the caller may not see is left
    /// out.
    async fn recent_viewers(
        &self,
        ctx: &Context<'_>,
    ) -> Result<Vec<crate::graphql::audit::RecentViewer>> {
        let reader = reader(ctx)?;
        Ok(
            crate::service::audit_log::recent_viewers(ctx.state(), reader, self.0.id)
                .await?
                .into_iter()
                .map(crate::graphql::audit::RecentViewer)
                .collect(),
        )
    }
}

/// A practitioner's involvement with a child.
pub struct Involvement(pub InvolvementRow);

#[Object]
impl Involvement {
    pub async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn child(&self, ctx: &Context<'_>) -> Result<Child> {
        child_of(ctx, self.0.child_id).await
    }
    async fn practitioner(&self, ctx: &Context<'_>) -> Result<Practitioner> {
        practitioner(ctx, self.0.practitioner_id).await
    }
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        agency(ctx, self.0.agency_id).await
    }
    /// The practitioner's role in the child's life.
    async fn role(&self) -> &str {
        &self.0.role
    }
    async fn sensitivity(&self) -> Result<Sensitivity> {
        stored(&self.0.sensitivity)
    }
    async fn consent(&self) -> Result<ConsentStatus> {
        stored(&self.0.consent)
    }
    async fn lawful_basis(&self) -> Result<Option<LawfulBasis>> {
        self.0.lawful_basis.as_deref().map(stored).transpose()
    }
    async fn is_lead(&self) -> bool {
        self.0.is_lead
    }
    async fn started_on(&self) -> Date {
        Date(self.0.started_on)
    }
    async fn ended_on(&self) -> Option<Date> {
        self.0.ended_on.map(Date)
    }
    async fn last_contact_at(&self) -> Option<Timestamp> {
        self.0.last_contact_at.map(Timestamp)
    }
    async fn next_contact_at(&self) -> Option<Timestamp> {
        self.0.next_contact_at.map(Timestamp)
    }
    /// The newest contacts first.
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
    ) -> Result<Vec<Contact>> {
        let first = crate::service::page::check_first(first.unwrap_or(20))?;
        let rows = ctx
            .data_unchecked::<DataLoader<ContactLoader>>()
            .load_one((self.0.id, first))
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        Ok(rows.into_iter().map(Contact).collect())
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// One touch point on an involvement.
pub struct Contact(pub ContactRow);

#[Object]
impl Contact {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn involvement(&self, ctx: &Context<'_>) -> Result<Involvement> {
        ctx.data_unchecked::<DataLoader<InvolvementLoader>>()
            .load_one(self.0.involvement_id)
            .await
            .map_err(loader_error)?
            .map(Involvement)
            .ok_or_else(|| missing("involvement"))
    }
    async fn kind(&self) -> Result<ContactKind> {
        stored(&self.0.kind)
    }
    async fn outcome(&self) -> Result<ContactOutcome> {
        stored(&self.0.outcome)
    }
    async fn at(&self) -> Timestamp {
        Timestamp(self.0.at)
    }
}

/// An agreed action on a child.
pub struct Task(pub TaskRow);

#[Object]
impl Task {
    pub async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn child(&self, ctx: &Context<'_>) -> Result<Child> {
        child_of(ctx, self.0.child_id).await
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn assignee(&self, ctx: &Context<'_>) -> Result<Option<Practitioner>> {
        match self.0.assignee_id {
            Some(a) => practitioner(ctx, a).await.map(Some),
            None => Ok(None),
        }
    }
    async fn created_by(&self, ctx: &Context<'_>) -> Result<Practitioner> {
        practitioner(ctx, self.0.created_by).await
    }
    async fn due_on(&self) -> Option<Date> {
        self.0.due_on.map(Date)
    }
    async fn status(&self) -> Result<TaskStatus> {
        stored(&self.0.status)
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// A sensitive agency's grant that lets another agency see its restricted involvements.
pub struct SharingAgreement(pub SharingAgreementRow);

// `fromAgency` is the contract's name; the `from_` prefix here is not a conversion.
#[allow(clippy::wrong_self_convention)]
#[Object]
impl SharingAgreement {
    async fn id(&self) -> ID {
        id(self.0.id)
    }
    async fn from_agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        agency(ctx, self.0.from_agency_id).await
    }
    async fn to_agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        agency(ctx, self.0.to_agency_id).await
    }
    async fn purpose(&self) -> &str {
        &self.0.purpose
    }
    async fn starts_on(&self) -> Date {
        Date(self.0.starts_on)
    }
    /// Inclusive.
    async fn ends_on(&self) -> Option<Date> {
        self.0.ends_on.map(Date)
    }
    async fn revoked_at(&self) -> Option<Timestamp> {
        self.0.revoked_at.map(Timestamp)
    }
}

/// A search result: only what confirms identity, never the team.
pub struct ChildMatch(pub child::ChildMatch);

#[Object]
impl ChildMatch {
    async fn id(&self) -> ID {
        id(self.0.child.id)
    }
    async fn given_name(&self) -> &str {
        &self.0.child.given_name
    }
    async fn family_name(&self) -> &str {
        &self.0.child.family_name
    }
    async fn date_of_birth(&self) -> Date {
        Date(self.0.child.date_of_birth)
    }
    /// The outward code, e.g. LS6 for LS6 2AB.
    async fn postcode_district(&self) -> Option<String> {
        self.0
            .child
            .postcode
            .as_deref()
            .and_then(search::postcode_district)
    }
    /// In (0, 1]; 1 is an exact match.
    async fn score(&self) -> f64 {
        self.0.score
    }
}

/// One change to the child's team.
pub struct TimelineEvent(pub ActivityRow);

fn describe(kind: &str, details: &serde_json::Value) -> String {
    let words = |v: &serde_json::Value| v.as_str().unwrap_or("").to_lowercase().replace('_', " ");
    let Ok(kind) = kind.parse::<ActivityKind>() else {
        return kind.to_lowercase().replace('_', " ");
    };
    match kind {
        ActivityKind::InvolvementStarted => "joined the team".to_owned(),
        ActivityKind::InvolvementEnded => "left the team".to_owned(),
        ActivityKind::InvolvementUpdated => "updated their involvement".to_owned(),
        ActivityKind::LeadAssigned => "became the lead professional".to_owned(),
        ActivityKind::LeadRemoved => "is no longer the lead professional".to_owned(),
        ActivityKind::ContactRecorded => format!(
            "recorded a contact: {}, {}",
            words(&details["kind"]),
            words(&details["outcome"])
        ),
        ActivityKind::TaskCreated => "created a task".to_owned(),
        ActivityKind::TaskAssigned => "reassigned a task".to_owned(),
        ActivityKind::TaskCompleted => "completed a task".to_owned(),
        ActivityKind::TaskCancelled => "cancelled a task".to_owned(),
        ActivityKind::TaskReopened => "reopened a task".to_owned(),
        ActivityKind::TaskUpdated => "updated a task".to_owned(),
        ActivityKind::AttentionRaised => "attention raised".to_owned(),
    }
}

#[Object]
impl TimelineEvent {
    async fn at(&self) -> Timestamp {
        Timestamp(self.0.at)
    }
    /// e.g. INVOLVEMENT_STARTED, INVOLVEMENT_ENDED, CONTACT_RECORDED, TASK_CREATED, TASK_COMPLETED
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// Who did what, in words.
    async fn summary(&self, ctx: &Context<'_>) -> Result<String> {
        let what = describe(&self.0.kind, &self.0.details);
        Ok(match self.0.actor_id {
            Some(a) => format!("{} {what}", practitioner(ctx, a).await?.0.display_name),
            None => what,
        })
    }
    async fn involvement(&self, ctx: &Context<'_>) -> Result<Option<Involvement>> {
        let Some(inv) = self.0.involvement_id else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<DataLoader<InvolvementLoader>>()
            .load_one(inv)
            .await
            .map_err(loader_error)?
            .map(Involvement))
    }
    async fn task(&self, ctx: &Context<'_>) -> Result<Option<Task>> {
        let Some(t) = self.0.task_id else {
            return Ok(None);
        };
        Ok(ctx
            .data_unchecked::<DataLoader<TaskByIdLoader>>()
            .load_one(t)
            .await
            .map_err(loader_error)?
            .map(Task))
    }
}

/// Where a page lies in its list, as Relay's connections describe it.
#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
    /// Going forwards, whether the page started after a cursor; going backwards (`last`),
    /// whether rows lie before it.
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
}

impl<T> From<&Page<T>> for PageInfo {
    fn from(page: &Page<T>) -> PageInfo {
        PageInfo {
            has_next_page: page.has_next_page,
            end_cursor: page.end_cursor(),
            has_previous_page: page.has_previous_page,
            start_cursor: page.start_cursor(),
        }
    }
}

/// A connection's arguments as the service takes them.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> PageRequest {
    PageRequest {
        first: first.unwrap_or(50),
        after,
        last,
        before,
    }
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ident, $row:ty) => {
        #[derive(SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }

        #[derive(SimpleObject)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
        }

        impl From<Page<$row>> for $conn {
            fn from(page: Page<$row>) -> $conn {
                let page_info = PageInfo::from(&page);
                $conn {
                    edges: page
                        .items
                        .into_iter()
                        .map(|(cursor, row)| $edge {
                            cursor,
                            node: $node(row),
                        })
                        .collect(),
                    page_info,
                }
            }
        }
    };
}

connection!(ChildConnection, ChildEdge, Child, ChildRow);
connection!(TaskConnection, TaskEdge, Task, TaskRow);
connection!(TimelineConnection, TimelineEdge, TimelineEvent, ActivityRow);

#[derive(Default)]
pub struct TeamQuery;

#[Object]
impl TeamQuery {
    /// Null, with no error, when the child does not exist or the reader may not see it.
    async fn child(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Child>> {
        let reader = reader(ctx)?;
        let id = parse_id("id", &id)?;
        // The team screen asks for the team and tasks too: read them in the same trip.
        let wanted = ctx.look_ahead();
        let with_team = wanted.field("team").exists() || wanted.field("leadProfessional").exists();
        let with_tasks = wanted.field("tasks").exists();
        if let (true, Some(ahead)) = (with_team || with_tasks, ctx.data_opt::<ReadAhead>()) {
            let screen =
                child::team_screen(ctx.state(), reader, ctx.meta(), id, with_team, with_tasks)
                    .await?;
            return Ok(screen.map(|s| {
                ahead.put(id, s.team, s.tasks);
                Child(s.child)
            }));
        }
        Ok(child::get_child(ctx.state(), reader, ctx.meta(), id)
            .await?
            .map(Child))
    }

    /// Children the caller has an active involvement with.
    /// `first`/`after` page forwards, `last`/`before` backwards (`first` is then ignored).
    async fn my_children(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ChildConnection> {
        let reader = reader(ctx)?;
        let request = page_request(first, after, last, before);
        let page = child::my_children(ctx.state(), reader, ctx.meta(), &request).await?;
        Ok(page.into())
    }

    /// familyName must not be blank; at most 10 matches, best first.
    async fn search_children(
        &self,
        ctx: &Context<'_>,
        family_name: String,
        date_of_birth: Date,
        given_name: Option<String>,
        postcode: Option<String>,
    ) -> Result<Vec<ChildMatch>> {
        let reader = reader(ctx)?;
        let criteria = child::SearchCriteria {
            family_name,
            date_of_birth: date_of_birth.0,
            given_name,
            postcode,
        };
        Ok(
            child::search_children(ctx.state(), reader, ctx.meta(), criteria)
                .await?
                .into_iter()
                .map(ChildMatch)
                .collect(),
        )
    }

    /// Tasks assigned to the caller.
    /// `first`/`after` page forwards, `last`/`before` backwards (`first` is then ignored).
    async fn my_tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(TaskStatus::Open)")] status: Option<TaskStatus>,
        #[graphql(default_with = "Some(50)")] first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<TaskConnection> {
        let reader = reader(ctx)?;
        let request = page_request(first, after, last, before);
        let page = task::my_tasks(ctx.state(), reader, status.map(Into::into), &request).await?;
        Ok(page.into())
    }

    /// Agreements granted by or to the caller's agency.
    async fn sharing_agreements(&self, ctx: &Context<'_>) -> Result<Vec<SharingAgreement>> {
        let actor = ctx.actor()?;
        Ok(sharing::list_sharing_agreements(ctx.state(), actor)
            .await?
            .into_iter()
            .map(SharingAgreement)
            .collect())
    }
}

#[derive(Default)]
pub struct TeamMutation;

#[Object]
impl TeamMutation {
    async fn register_child(
        &self,
        ctx: &Context<'_>,
        input: inputs::RegisterChildInput,
    ) -> Result<Involvement> {
        let reader = reader(ctx)?;
        child::register_child(ctx.state(), reader, ctx.meta(), input.into())
            .await
            .map(Involvement)
            .map_err(|e| e.within("input").into())
    }

    async fn join_team(
        &self,
        ctx: &Context<'_>,
        input: inputs::JoinTeamInput,
    ) -> Result<Involvement> {
        let reader = reader(ctx)?;
        let input = involvement::JoinTeam::try_from(input).map_err(|e| e.within("input"))?;
        involvement::join_team(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(Involvement)
            .map_err(|e| e.within("input").into())
    }

    async fn update_involvement(
        &self,
        ctx: &Context<'_>,
        input: inputs::UpdateInvolvementInput,
    ) -> Result<Involvement> {
        let reader = reader(ctx)?;
        let input =
            involvement::UpdateInvolvement::try_from(input).map_err(|e| e.within("input"))?;
        involvement::update_involvement(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(Involvement)
            .map_err(|e| e.within("input").into())
    }

    async fn end_involvement(
        &self,
        ctx: &Context<'_>,
        id: ID,
        expected_version: i32,
        reason: Option<String>,
    ) -> Result<Involvement> {
        let reader = reader(ctx)?;
        Ok(Involvement(
            involvement::end_involvement(
                ctx.state(),
                reader,
                ctx.meta(),
                parse_id("id", &id)?,
                expected_version,
                reason,
            )
            .await?,
        ))
    }

    async fn record_contact(
        &self,
        ctx: &Context<'_>,
        input: inputs::RecordContactInput,
    ) -> Result<Contact> {
        let reader = reader(ctx)?;
        let input = contact::RecordContactInput::try_from(input).map_err(|e| e.within("input"))?;
        contact::record_contact(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(Contact)
            .map_err(|e| e.within("input").into())
    }

    async fn create_task(&self, ctx: &Context<'_>, input: inputs::CreateTaskInput) -> Result<Task> {
        let reader = reader(ctx)?;
        let input = task::CreateTask::try_from(input).map_err(|e| e.within("input"))?;
        task::create_task(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(Task)
            .map_err(|e| e.within("input").into())
    }

    async fn update_task(&self, ctx: &Context<'_>, input: inputs::UpdateTaskInput) -> Result<Task> {
        let reader = reader(ctx)?;
        let input = task::UpdateTask::try_from(input).map_err(|e| e.within("input"))?;
        task::update_task(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(Task)
            .map_err(|e| e.within("input").into())
    }

    /// Agency admins only, granting from their own agency; startsOn may be past or future; endsOn is inclusive.
    async fn create_sharing_agreement(
        &self,
        ctx: &Context<'_>,
        input: inputs::CreateSharingAgreementInput,
    ) -> Result<SharingAgreement> {
        let actor = ctx.actor()?;
        sharing::create_sharing_agreement(ctx.state(), actor, ctx.meta(), input.into())
            .await
            .map(SharingAgreement)
            .map_err(|e| e.within("input").into())
    }

    async fn revoke_sharing_agreement(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> Result<SharingAgreement> {
        let actor = ctx.actor()?;
        Ok(SharingAgreement(
            sharing::revoke_sharing_agreement(ctx.state(), actor, ctx.meta(), parse_id("id", &id)?)
                .await?,
        ))
    }
}
