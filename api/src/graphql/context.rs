//! What a resolver reads from the request: the shared state, the caller and where the
//! request came from. Set once by the HTTP handler.

use async_graphql::Context;

use crate::auth::{Actor, RequestMeta};
use crate::policy::Reader;
use crate::service::error::ServiceError;
use crate::state::AppState;

/// The caller as the HTTP layer established it.
#[derive(Clone, Copy, Debug)]
pub enum Auth {
    /// No access token was sent.
    Anonymous,
    /// A token was sent but is not valid (forged, expired, or its owner deactivated).
    Invalid,
    /// The database could not be asked who the caller is.
    Unavailable,
    Actor(Actor),
}

pub trait ContextExt {
    fn state(&self) -> &AppState;
    fn meta(&self) -> &RequestMeta;
    /// The signed-in caller, or UNAUTHENTICATED.
    fn actor(&self) -> Result<Actor, ServiceError>;
}

impl ContextExt for Context<'_> {
    fn state(&self) -> &AppState {
        self.data_unchecked::<AppState>()
    }

    fn meta(&self) -> &RequestMeta {
        self.data_unchecked::<RequestMeta>()
    }

    fn actor(&self) -> Result<Actor, ServiceError> {
        match self.data_opt::<Auth>() {
            Some(Auth::Actor(actor)) => Ok(*actor),
            Some(Auth::Unavailable) => Err(ServiceError::Unavailable(anyhow::anyhow!(
                "could not load the caller"
            ))),
            _ => Err(ServiceError::Unauthenticated),
        }
    }
}

/// The caller's [`Reader`], loaded at most once per request and shared by its operations and
/// their loaders. Usually loaded with the caller when the request is authenticated.
pub struct RequestReader {
    state: AppState,
    auth: Auth,
    cell: tokio::sync::OnceCell<Reader>,
}

impl RequestReader {
    pub fn new(state: AppState, auth: Auth, loaded: Option<Reader>) -> RequestReader {
        RequestReader {
            state,
            auth,
            cell: tokio::sync::OnceCell::new_with(loaded),
        }
    }

    pub async fn get(&self) -> Result<Reader, ServiceError> {
        let actor = match self.auth {
            Auth::Actor(actor) => actor,
            Auth::Unavailable => {
                return Err(ServiceError::Unavailable(anyhow::anyhow!(
                    "could not load the caller"
                )))
            }
            _ => return Err(ServiceError::Unauthenticated),
        };
        self.cell
            .get_or_try_init(|| async {
                let today = self.state.today();
                crate::db::run(&self.state.pool, move |conn| {
                    Ok(Reader::load(conn, actor, today)?)
                })
                .await
            })
            .await
            .cloned()
    }
}

/// The signed-in caller's reader, or UNAUTHENTICATED.
pub async fn reader(ctx: &Context<'_>) -> Result<Reader, ServiceError> {
    ctx.data_unchecked::<std::sync::Arc<RequestReader>>()
        .get()
        .await
}
