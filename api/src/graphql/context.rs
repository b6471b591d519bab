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
            Some(auth) => Err(not_signed_in(*auth)),
            None => Err(ServiceError::Unauthenticated),
        }
    }
}

/// Why a request without a signed-in caller is refused.
fn not_signed_in(auth: Auth) -> ServiceError {
    match auth {
        Auth::Unavailable => {
            ServiceError::Unavailable(anyhow::anyhow!("could not load the caller"))
        }
        _ => ServiceError::Unauthenticated,
    }
}

/// The caller's [`Reader`], settled with the caller when the request is authenticated and
/// shared by its operations and their loaders.
pub struct RequestReader {
    auth: Auth,
    reader: Option<Reader>,
}

impl RequestReader {
    pub fn new(auth: Auth, reader: Option<Reader>) -> RequestReader {
        RequestReader { auth, reader }
    }

    pub fn get(&self) -> Result<Reader, ServiceError> {
        match (&self.reader, self.auth) {
            (Some(reader), Auth::Actor(_)) => Ok(reader.clone()),
            (_, auth) => Err(not_signed_in(auth)),
        }
    }
}

/// The signed-in caller's reader, or UNAUTHENTICATED.
pub fn reader(ctx: &Context<'_>) -> Result<Reader, ServiceError> {
    ctx.data_unchecked::<std::sync::Arc<RequestReader>>().get()
}
