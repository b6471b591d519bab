//! API clients: an agency admin registers, lists and revokes the vendor systems that act as
//! their agency (rule 10).

use async_graphql::{Context, InputObject, Object, ID};

use crate::db::api_clients::ApiClientRow;
use crate::graphql::context::ContextExt;
use crate::graphql::enums::ApiScope;
use crate::graphql::error::Result;
use crate::graphql::loaders::{loader_error, Agencies};
use crate::graphql::scalars::Timestamp;
use crate::graphql::types::Agency;
use crate::service::api_client::{self, CreateApiClientInput as NewClient};
use crate::service::error::ServiceError;
use crate::service::parse_id;

/// A vendor's system, acting as its agency through `POST /oauth/token` and `/api/v1`.
pub struct ApiClient(pub ApiClientRow);

#[Object]
impl ApiClient {
    /// Also the OAuth `client_id`.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn agency(&self, ctx: &Context<'_>) -> Result<Agency> {
        ctx.data_unchecked::<Agencies>()
            .load_one(self.0.agency_id)
            .await
            .map_err(loader_error)?
            .map(Agency)
            .ok_or_else(|| ServiceError::Internal(anyhow::anyhow!("agency vanished")).into())
    }
    async fn scopes(&self) -> Vec<ApiScope> {
        api_client::scopes_of(&self.0)
            .into_iter()
            .map(Into::into)
            .collect()
    }
    /// `private_key_jwt` when the client signs assertions with a registered key, otherwise
    /// `client_secret_basic`.
    async fn authentication(&self) -> &str {
        if self.0.public_key_pem.is_some() {
            "private_key_jwt"
        } else {
            "client_secret_basic"
        }
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    async fn revoked_at(&self) -> Option<Timestamp> {
        self.0.revoked_at.map(Timestamp)
    }
}

/// A client to register for the caller's agency.
#[derive(Debug, Clone, InputObject)]
pub struct CreateApiClientInput {
    pub name: String,
    pub scopes: Vec<ApiScope>,
    /// A PEM public key (RSA, or EC P-256) for `private_key_jwt`. Without one, the client
    /// authenticates with a secret (`client_secret_basic`), shown once in the answer.
    pub public_key_pem: Option<String>,
}

impl From<CreateApiClientInput> for NewClient {
    fn from(input: CreateApiClientInput) -> NewClient {
        NewClient {
            name: input.name,
            scopes: input.scopes.into_iter().map(Into::into).collect(),
            public_key_pem: input.public_key_pem,
        }
    }
}

/// A client just registered.
pub struct CreatedApiClient {
    client: ApiClientRow,
    secret: Option<String>,
}

#[Object]
impl CreatedApiClient {
    async fn client(&self) -> ApiClient {
        ApiClient(self.client.clone())
    }
    /// The client's secret, shown this once: Patchwork keeps only a digest. Null for a client
    /// that authenticates with its key.
    async fn client_secret(&self) -> Option<&str> {
        self.secret.as_deref()
    }
}

#[derive(Default)]
pub struct ApiClientQuery;

#[Object]
impl ApiClientQuery {
    /// The caller's agency's API clients, revoked ones included (agency admins).
    async fn api_clients(&self, ctx: &Context<'_>) -> Result<Vec<ApiClient>> {
        let actor = ctx.actor()?;
        Ok(api_client::api_clients(ctx.state(), actor)
            .await?
            .into_iter()
            .map(ApiClient)
            .collect())
    }
}

#[derive(Default)]
pub struct ApiClientMutation;

#[Object]
impl ApiClientMutation {
    /// Registers a vendor's system for the caller's agency (agency admins).
    async fn create_api_client(
        &self,
        ctx: &Context<'_>,
        input: CreateApiClientInput,
    ) -> Result<CreatedApiClient> {
        let actor = ctx.actor()?;
        let created =
            api_client::create_api_client(ctx.state(), actor, ctx.meta(), input.into()).await?;
        Ok(CreatedApiClient {
            client: created.client,
            secret: created.secret,
        })
    }

    /// Revokes one of the caller's agency's clients: its tokens stop working at once.
    async fn revoke_api_client(&self, ctx: &Context<'_>, id: ID) -> Result<ApiClient> {
        let actor = ctx.actor()?;
        Ok(ApiClient(
            api_client::revoke_api_client(ctx.state(), actor, ctx.meta(), parse_id("id", &id)?)
                .await?,
        ))
    }
}
