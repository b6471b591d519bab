//! The family around a child (rule 11): siblings, parents and carers, the team around the
//! family, and the picture of the network an app draws.

use std::collections::HashMap;

use diesel::{Connection, PgConnection};
use uuid::Uuid;
use validator::Validate;

use crate::auth::RequestMeta;
use crate::db::family_links::{self, NewFamilyLink};
use crate::db::models::{ChildRow, FamilyLinkRow};
use crate::domain::{AuditAction, FamilyRelation};
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::child::{self, invalid_unless_empty};
use crate::service::error::{validate_not_blank, FieldError, ServiceError, ServiceResult};
use crate::service::involvement::{self, TeamMember};
use crate::service::{parse_id_noting, trimmed};
use crate::state::AppState;

/// One family member of a child, as a reader sees them.
#[derive(Clone, Debug)]
pub struct FamilyMember {
    pub link: FamilyLinkRow,
    pub relation: FamilyRelation,
    /// The other child, for a sibling.
    pub sibling: Option<Uuid>,
}

impl FamilyMember {
    /// The link seen from `child`.
    fn of(link: FamilyLinkRow, child: Uuid) -> ServiceResult<FamilyMember> {
        let relation: FamilyRelation = link.relation.parse().map_err(anyhow::Error::from)?;
        let sibling = match (link.sibling_id, relation) {
            (Some(s), FamilyRelation::Sibling) if s == child => Some(link.child_id),
            (Some(s), FamilyRelation::Sibling) => Some(s),
            _ => None,
        };
        Ok(FamilyMember {
            link,
            relation,
            sibling,
        })
    }
}

/// Records two children as siblings.
#[derive(Debug, Clone, Validate)]
pub struct LinkSiblingsInput {
    pub child_id: String,
    pub sibling_id: String,
    #[validate(length(max = 200))]
    pub description: Option<String>,
}

/// Records a child's parent or carer: a name and a relationship, no contact details.
#[derive(Debug, Clone, Validate)]
pub struct AddCarerInput {
    pub child_id: String,
    pub relation: FamilyRelation,
    #[validate(length(min = 1, max = 200), custom(function = validate_not_blank))]
    pub name: String,
    #[validate(length(max = 200))]
    pub description: Option<String>,
}

/// Two children to record as siblings, their IDs parsed: what [`link_siblings`] acts on.
#[derive(Debug, Clone)]
pub struct LinkSiblings {
    pub child_id: Uuid,
    pub sibling_id: Uuid,
    pub description: Option<String>,
}

impl TryFrom<LinkSiblingsInput> for LinkSiblings {
    type Error = ServiceError;

    /// Every field's problems in one answer.
    fn try_from(input: LinkSiblingsInput) -> ServiceResult<LinkSiblings> {
        let mut problems = Vec::new();
        let child_id = parse_id_noting(&mut problems, "childId", &input.child_id);
        let sibling_id = parse_id_noting(&mut problems, "siblingId", &input.sibling_id);
        if problems.is_empty() && child_id == sibling_id {
            problems.push(FieldError::new("siblingId", "is the child itself"));
        }
        invalid_unless_empty(input.validate(), problems)?;
        Ok(LinkSiblings {
            child_id,
            sibling_id,
            description: input.description,
        })
    }
}

/// A child's parent or carer, the child's ID parsed: what [`add_carer`] acts on.
#[derive(Debug, Clone)]
pub struct AddCarer {
    pub child_id: Uuid,
    pub relation: FamilyRelation,
    pub name: String,
    pub description: Option<String>,
}

impl TryFrom<AddCarerInput> for AddCarer {
    type Error = ServiceError;

    /// Every field's problems in one answer.
    fn try_from(input: AddCarerInput) -> ServiceResult<AddCarer> {
        let mut problems = Vec::new();
        let child_id = parse_id_noting(&mut problems, "childId", &input.child_id);
        if input.relation == FamilyRelation::Sibling {
            problems.push(FieldError::new(
                "relation",
                "must be PARENT or CARER (siblings are linked with linkSiblings)",
            ));
        }
        invalid_unless_empty(input.validate(), problems)?;
        Ok(AddCarer {
            child_id,
            relation: input.relation,
            name: input.name,
            description: input.description,
        })
    }
}

/// The family of `child` as the reader sees it, on a connection the caller holds: siblings
/// first recorded first, each sibling once (a pair recorded twice shows its oldest record the
/// reader may see). Nothing for a child the reader may not read.
fn family_on(
    conn: &mut PgConnection,
    reader: &Reader,
    child: Uuid,
) -> ServiceResult<Vec<FamilyMember>> {
    let links = family_links::around(conn, vec![child], policy::family_link_visible_sql(reader))?;
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for link in links {
        let member = FamilyMember::of(link, child)?;
        if let Some(s) = member.sibling {
            if seen.contains(&s) {
                continue;
            }
            seen.push(s);
        }
        out.push(member);
    }
    Ok(out)
}

/// The family of `child` as the reader sees it, with each sibling's record read (and audited
/// as a view).
fn family_read(
    conn: &mut PgConnection,
    reader: &Reader,
    meta: &RequestMeta,
    child: Uuid,
) -> ServiceResult<(Vec<FamilyMember>, HashMap<Uuid, ChildRow>)> {
    let family = family_on(conn, reader, child)?;
    let ids: Vec<Uuid> = family.iter().filter_map(|m| m.sibling).collect();
    let siblings = if ids.is_empty() {
        HashMap::new()
    } else {
        child::children_read(conn, reader, meta, ids)?
    };
    Ok((family, siblings))
}

/// The family of `child` as the reader sees it.
pub async fn family(
    state: &AppState,
    reader: Reader,
    child: Uuid,
) -> ServiceResult<Vec<FamilyMember>> {
    crate::db::run(&state.pool, move |conn| family_on(conn, &reader, child)).await
}

/// The team around the family: the active team of `child` and of each sibling the reader
/// sees, as the reader may see them; the child's own team first, then each sibling's in the
/// order of [`family`]. Showing a sibling's team reads the sibling's record: each is audited
/// as a view.
pub async fn family_team(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    child: Uuid,
) -> ServiceResult<Vec<TeamMember>> {
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        let (family, read) = family_read(conn, &reader, &meta, child)?;
        let mut children = vec![child];
        children.extend(
            family
                .iter()
                .filter_map(|m| m.sibling)
                .filter(|s| read.contains_key(s)),
        );
        let mut teams = involvement::teams_on(conn, &reader, children.clone(), false)?;
        let members = children
            .iter()
            .flat_map(|c| teams.remove(c).unwrap_or_default())
            .collect();
        Ok(members)
    })
    .await
}

/// Everything the picture of a child's network shows, read in one trip: the child's team,
/// its family, and the siblings' records (each read audited as a view).
pub struct NetworkParts {
    pub team: Vec<TeamMember>,
    pub family: Vec<FamilyMember>,
    pub siblings: HashMap<Uuid, ChildRow>,
}

/// The parts of the picture of `child`'s network as the reader may see them.
pub async fn network_parts(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    child: Uuid,
) -> ServiceResult<NetworkParts> {
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        let (family, siblings) = family_read(conn, &reader, &meta, child)?;
        let mut teams = involvement::teams_on(conn, &reader, vec![child], false)?;
        Ok(NetworkParts {
            team: teams.remove(&child).unwrap_or_default(),
            family,
            siblings,
        })
    })
    .await
}

fn record(
    conn: &mut PgConnection,
    reader: &Reader,
    meta: &RequestMeta,
    action: AuditAction,
    link: &FamilyLinkRow,
) -> ServiceResult<()> {
    for child in std::iter::once(link.child_id).chain(link.sibling_id) {
        audit::record(
            conn,
            Some(&reader.actor),
            meta,
            AuditEvent {
                child_id: Some(child),
                subject_type: Some("family_link"),
                subject_id: Some(link.id),
                ..AuditEvent::of(action)
            },
        )?;
    }
    Ok(())
}

/// Inserts a link with its audit events, and answers it as seen from `new.child`.
fn insert_recorded(
    conn: &mut PgConnection,
    reader: &Reader,
    meta: &RequestMeta,
    new: NewFamilyLink<'_>,
) -> ServiceResult<FamilyMember> {
    let child = new.child;
    let link = family_links::insert(conn, new)?;
    record(conn, reader, meta, AuditAction::FamilyLinkRecorded, &link)?;
    FamilyMember::of(link, child)
}

/// Records two children the caller may both read as siblings, and answers the link as seen
/// from `childId`. A pair the caller already sees linked answers that link again.
pub async fn link_siblings(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: LinkSiblings,
) -> ServiceResult<FamilyMember> {
    let (child, sibling) = (input.child_id, input.sibling_id);
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !child::may_read(conn, &reader, child)? {
                return Err(ServiceError::NotFound);
            }
            if !child::may_read(conn, &reader, sibling)? {
                return Err(ServiceError::invalid(
                    "siblingId",
                    "is not a child whose record you may read",
                ));
            }
            let visible = policy::family_link_visible_sql(&reader);
            if let Some(link) = family_links::pair(conn, child, sibling, visible)?
                .into_iter()
                .next()
            {
                return FamilyMember::of(link, child);
            }
            let new = NewFamilyLink {
                child,
                relation: FamilyRelation::Sibling,
                sibling: Some(sibling),
                name: None,
                description: trimmed(input.description.as_deref()),
                recorded_by: reader.actor.practitioner_id,
            };
            insert_recorded(conn, &reader, &meta, new)
        })
    })
    .await
}

/// Records a parent or carer of a child the caller may read.
pub async fn add_carer(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: AddCarer,
) -> ServiceResult<FamilyMember> {
    let child = input.child_id;
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            if !child::may_read(conn, &reader, child)? {
                return Err(ServiceError::NotFound);
            }
            let new = NewFamilyLink {
                child,
                relation: input.relation,
                sibling: None,
                name: Some(input.name.trim()),
                description: trimmed(input.description.as_deref()),
                recorded_by: reader.actor.practitioner_id,
            };
            insert_recorded(conn, &reader, &meta, new)
        })
    })
    .await
}

/// Removes a family link the caller sees; for a sibling pair, every record of the pair the
/// caller sees. A link the caller does not see answers NOT_FOUND, like one that never was.
pub async fn remove_link(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<()> {
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let visible = policy::family_link_visible_sql(&reader);
            let link =
                family_links::lock(conn, id, visible.clone())?.ok_or(ServiceError::NotFound)?;
            let ids = match link.sibling_id {
                Some(s) => family_links::pair(conn, link.child_id, s, visible)?
                    .into_iter()
                    .map(|l| l.id)
                    .collect(),
                None => vec![link.id],
            };
            family_links::remove(conn, ids, reader.actor.practitioner_id)?;
            record(conn, &reader, &meta, AuditAction::FamilyLinkRemoved, &link)
        })
    })
    .await
}

/// What a node of the picture stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Child,
    Agency,
    Practitioner,
    Sibling,
    Parent,
    Carer,
}

/// What an edge of the picture says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EdgeKind {
    /// A practitioner works with the child (one edge per involvement; the label is the role).
    WorksWith,
    /// A practitioner belongs to the agency whose involvement it is.
    MemberOf,
    /// A family member of the child.
    Family,
}

/// One node of the picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: Uuid,
    pub kind: NodeKind,
    pub label: String,
    pub detail: Option<String>,
    pub agency_id: Option<Uuid>,
    pub lead: bool,
    pub phone: Option<String>,
    pub email: Option<String>,
}

/// One edge of the picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    pub from: Uuid,
    pub to: Uuid,
    pub kind: EdgeKind,
    pub label: Option<String>,
}

/// The picture of the network around a child.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

fn relation_label(relation: FamilyRelation) -> &'static str {
    match relation {
        FamilyRelation::Sibling => "sibling",
        FamilyRelation::Parent => "parent",
        FamilyRelation::Carer => "carer",
    }
}

/// Draws the picture from what the reader may see: the child, each agency of the visible team
/// and its practitioners (one node each, lead when any of their involvements is), and the
/// family. Built only from parts already filtered by the policy, so every node and edge obeys
/// rule 3 and rule 11. A sibling whose record could not be read is left out.
pub fn network(child: &ChildRow, parts: &NetworkParts) -> Network {
    let mut net = Network::default();
    net.nodes.push(Node {
        id: child.id,
        kind: NodeKind::Child,
        label: format!("{} {}", child.given_name, child.family_name),
        detail: None,
        agency_id: None,
        lead: false,
        phone: None,
        email: None,
    });
    for member in &parts.team {
        let (inv, who, agency) = (&member.involvement, &member.practitioner, &member.agency);
        if !net.nodes.iter().any(|n| n.id == agency.id) {
            net.nodes.push(Node {
                id: agency.id,
                kind: NodeKind::Agency,
                label: agency.name.clone(),
                detail: None,
                agency_id: None,
                lead: false,
                phone: agency.phone.clone(),
                email: agency.email.clone(),
            });
        }
        match net.nodes.iter_mut().find(|n| n.id == who.id) {
            Some(node) => node.lead |= inv.is_lead,
            None => net.nodes.push(Node {
                id: who.id,
                kind: NodeKind::Practitioner,
                label: who.display_name.clone(),
                detail: Some(inv.role.clone()),
                agency_id: Some(agency.id),
                lead: inv.is_lead,
                phone: who.phone.clone().or_else(|| who.mobile.clone()),
                email: Some(who.email.clone()),
            }),
        }
        net.edges.push(Edge {
            from: child.id,
            to: who.id,
            kind: EdgeKind::WorksWith,
            label: Some(inv.role.clone()),
        });
        let member_of = Edge {
            from: who.id,
            to: agency.id,
            kind: EdgeKind::MemberOf,
            label: None,
        };
        if !net.edges.contains(&member_of) {
            net.edges.push(member_of);
        }
    }
    for member in &parts.family {
        let (kind, label) = match (member.relation, member.sibling) {
            (FamilyRelation::Sibling, Some(s)) => match parts.siblings.get(&s) {
                Some(c) => (
                    NodeKind::Sibling,
                    format!("{} {}", c.given_name, c.family_name),
                ),
                None => continue,
            },
            (FamilyRelation::Sibling, None) => continue,
            (FamilyRelation::Parent, _) => (
                NodeKind::Parent,
                member.link.name.clone().unwrap_or_default(),
            ),
            (FamilyRelation::Carer, _) => (
                NodeKind::Carer,
                member.link.name.clone().unwrap_or_default(),
            ),
        };
        let detail = member
            .link
            .description
            .clone()
            .unwrap_or_else(|| relation_label(member.relation).to_owned());
        let id = member.sibling.unwrap_or(member.link.id);
        net.nodes.push(Node {
            id,
            kind,
            label,
            detail: Some(detail.clone()),
            agency_id: None,
            lead: false,
            phone: None,
            email: None,
        });
        net.edges.push(Edge {
            from: child.id,
            to: id,
            kind: EdgeKind::Family,
            label: Some(detail),
        });
    }
    net
}
