//! The family around a child and the picture of its network (rule 11).

use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

use crate::db::models::ChildRow;
use crate::graphql::context::{reader, ContextExt};
use crate::graphql::enums::FamilyRelation;
use crate::graphql::error::Result;
use crate::graphql::loaders::{loader_error, ChildLoader};
use crate::graphql::scalars::Timestamp;
use crate::graphql::team::Child;
use crate::service::family::{self as service, EdgeKind, NodeKind};
use crate::service::involvement::TeamMember;
use crate::service::parse_id;

fn id(uuid: uuid::Uuid) -> ID {
    ID(uuid.to_string())
}

/// A sibling, parent or carer of a child. Parents and carers are a name and a relationship:
/// Patchwork keeps no contact details for them.
pub struct FamilyMember(pub service::FamilyMember);

#[Object]
impl FamilyMember {
    /// The link's id (`removeFamilyLink` takes it).
    async fn id(&self) -> ID {
        id(self.0.link.id)
    }
    async fn relation(&self) -> FamilyRelation {
        self.0.relation.into()
    }
    /// As recorded, e.g. "half-brother" or "grandmother".
    async fn description(&self) -> Option<&str> {
        self.0.link.description.as_deref()
    }
    /// The sibling, for SIBLING.
    async fn child(&self, ctx: &Context<'_>) -> Result<Option<Child>> {
        let Some(sibling) = self.0.sibling else {
            return Ok(None);
        };
        // Through the request's loader: a family of several siblings is read in one statement.
        Ok(ctx
            .data_unchecked::<DataLoader<ChildLoader>>()
            .load_one(sibling)
            .await
            .map_err(loader_error)?
            .map(Child))
    }
    /// The parent's or carer's name, for PARENT and CARER.
    async fn name(&self) -> Option<&str> {
        self.0.link.name.as_deref()
    }
    async fn recorded_at(&self) -> Timestamp {
        Timestamp(self.0.link.recorded_at)
    }
}

pub(crate) async fn family_of(ctx: &Context<'_>, child: uuid::Uuid) -> Result<Vec<FamilyMember>> {
    let reader = reader(ctx)?;
    Ok(service::family(ctx.state(), reader, child)
        .await?
        .into_iter()
        .map(FamilyMember)
        .collect())
}

pub(crate) async fn family_team_of(
    ctx: &Context<'_>,
    child: uuid::Uuid,
) -> Result<Vec<TeamMember>> {
    let reader = reader(ctx)?;
    Ok(service::family_team(ctx.state(), reader, ctx.meta(), child).await?)
}

pub(crate) async fn network_of(ctx: &Context<'_>, child: &ChildRow) -> Result<ChildNetwork> {
    let reader = reader(ctx)?;
    let parts = service::network_parts(ctx.state(), reader, ctx.meta(), child.id).await?;
    let net = service::network(child, &parts);
    Ok(ChildNetwork {
        nodes: net.nodes.into_iter().map(Into::into).collect(),
        edges: net.edges.into_iter().map(Into::into).collect(),
    })
}

/// The network around a child as nodes and edges an app can draw.
#[derive(SimpleObject)]
pub struct ChildNetwork {
    /// The child first, then each agency followed by its practitioners, then the family.
    nodes: Vec<NetworkNode>,
    edges: Vec<NetworkEdge>,
}

/// What a node of the network stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum NetworkNodeKind {
    Child,
    Agency,
    Practitioner,
    Sibling,
    Parent,
    Carer,
}

/// What an edge of the network says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Enum)]
pub enum NetworkEdgeKind {
    /// From the child to a practitioner, one per involvement; the label is the role.
    WorksWith,
    /// From a practitioner to their agency.
    MemberOf,
    /// From the child to a family member; the label is the relationship.
    Family,
}

/// One person or organisation in the network.
#[derive(SimpleObject)]
pub struct NetworkNode {
    /// The child's, agency's, practitioner's or sibling's id; a parent's or carer's family link.
    id: ID,
    kind: NetworkNodeKind,
    /// The name.
    label: String,
    /// A practitioner's role, a family member's relationship.
    detail: Option<String>,
    /// A practitioner's agency, to group them by.
    agency_id: Option<ID>,
    /// The lead professional.
    lead: bool,
    phone: Option<String>,
    email: Option<String>,
}

/// A line between two nodes.
#[derive(SimpleObject)]
pub struct NetworkEdge {
    from: ID,
    to: ID,
    kind: NetworkEdgeKind,
    label: Option<String>,
}

impl From<service::Node> for NetworkNode {
    fn from(n: service::Node) -> Self {
        NetworkNode {
            id: id(n.id),
            kind: match n.kind {
                NodeKind::Child => NetworkNodeKind::Child,
                NodeKind::Agency => NetworkNodeKind::Agency,
                NodeKind::Practitioner => NetworkNodeKind::Practitioner,
                NodeKind::Sibling => NetworkNodeKind::Sibling,
                NodeKind::Parent => NetworkNodeKind::Parent,
                NodeKind::Carer => NetworkNodeKind::Carer,
            },
            label: n.label,
            detail: n.detail,
            agency_id: n.agency_id.map(id),
            lead: n.lead,
            phone: n.phone,
            email: n.email,
        }
    }
}

impl From<service::Edge> for NetworkEdge {
    fn from(e: service::Edge) -> Self {
        NetworkEdge {
            from: id(e.from),
            to: id(e.to),
            kind: match e.kind {
                EdgeKind::WorksWith => NetworkEdgeKind::WorksWith,
                EdgeKind::MemberOf => NetworkEdgeKind::MemberOf,
                EdgeKind::Family => NetworkEdgeKind::Family,
            },
            label: e.label,
        }
    }
}

/// Records two children as siblings.
#[derive(Debug, Clone, InputObject)]
pub struct LinkSiblingsInput {
    pub child_id: ID,
    pub sibling_id: ID,
    /// e.g. "half-siblings"; at most 200 characters.
    pub description: Option<String>,
}

/// Records a child's parent or carer: a name and a relationship, no contact details.
#[derive(Debug, Clone, InputObject)]
pub struct AddCarerInput {
    pub child_id: ID,
    /// PARENT or CARER.
    pub relation: FamilyRelation,
    /// 1 to 200 characters.
    pub name: String,
    /// e.g. "grandmother", "foster carer"; at most 200 characters.
    pub description: Option<String>,
}

#[derive(Default)]
pub struct FamilyMutation;

#[Object]
impl FamilyMutation {
    /// Records two children as siblings; the caller must be able to read both records. A pair
    /// already linked answers its link.
    async fn link_siblings(
        &self,
        ctx: &Context<'_>,
        input: LinkSiblingsInput,
    ) -> Result<FamilyMember> {
        let reader = reader(ctx)?;
        let input = service::LinkSiblings::try_from(service::LinkSiblingsInput {
            child_id: input.child_id.0,
            sibling_id: input.sibling_id.0,
            description: input.description,
        })
        .map_err(|e| e.within("input"))?;
        service::link_siblings(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(FamilyMember)
            .map_err(|e| e.within("input").into())
    }

    /// Records a parent or carer of a child whose record the caller may read.
    async fn add_carer(&self, ctx: &Context<'_>, input: AddCarerInput) -> Result<FamilyMember> {
        let reader = reader(ctx)?;
        let input = service::AddCarer::try_from(service::AddCarerInput {
            child_id: input.child_id.0,
            relation: input.relation.into(),
            name: input.name,
            description: input.description,
        })
        .map_err(|e| e.within("input"))?;
        service::add_carer(ctx.state(), reader, ctx.meta(), input)
            .await
            .map(FamilyMember)
            .map_err(|e| e.within("input").into())
    }

    /// Removes a family link the caller sees.
    async fn remove_family_link(&self, ctx: &Context<'_>, id: ID) -> Result<bool> {
        let reader = reader(ctx)?;
        service::remove_link(ctx.state(), reader, ctx.meta(), parse_id("id", &id)?).await?;
        Ok(true)
    }
}
