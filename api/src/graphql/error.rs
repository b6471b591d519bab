//! How service errors look to a GraphQL client: `extensions.code`, and for bad input
//! `extensions.fields`.

use async_graphql::{ErrorExtensions, Value};

use crate::service::error::{
    LimitedError, LoginError, RecordOnceError, ServiceError, VersionedError,
};

/// The codes of the public contract.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
    /// Apollo's automatic persisted queries: the hash is unknown; send the document with it.
    pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
    pub const INTERNAL: &str = "INTERNAL";
}

/// What a resolver fails with: a service's refusal, already given its contract code, or an
/// error of GraphQL's own. A resolver returns [`Result`] so that `?` turns a service's
/// [`ServiceError`] into its code through [`refusal`], the one mapping for this transport.
///
/// Deliberately without `Display`: async-graphql turns any displayable error into a code-less
/// one, so this type becomes a GraphQL error only through the conversion below.
#[derive(Clone, Debug)]
pub struct ResolverError(async_graphql::Error);

/// A resolver's result.
pub type Result<T, E = ResolverError> = std::result::Result<T, E>;

impl From<ServiceError> for ResolverError {
    fn from(err: ServiceError) -> ResolverError {
        ResolverError(refusal(err))
    }
}

impl From<LoginError> for ResolverError {
    fn from(err: LoginError) -> ResolverError {
        ResolverError(match err {
            LoginError::WrongCredentials => {
                coded("email or password is wrong", code::UNAUTHENTICATED)
            }
            LoginError::RateLimited { retry_after } => rate_limited(retry_after),
            LoginError::Refused(e) => refusal(e),
        })
    }
}

impl From<LimitedError> for ResolverError {
    fn from(err: LimitedError) -> ResolverError {
        ResolverError(match err {
            LimitedError::RateLimited { retry_after } => rate_limited(retry_after),
            LimitedError::Refused(e) => refusal(e),
        })
    }
}

impl From<VersionedError> for ResolverError {
    fn from(err: VersionedError) -> ResolverError {
        ResolverError(match err {
            VersionedError::Stale { current_version } => {
                async_graphql::Error::new("this was changed by someone else; reload and try again")
                    .extend_with(|_, e| {
                        e.set("code", code::CONFLICT);
                        e.set("currentVersion", current_version);
                    })
            }
            VersionedError::Refused(e) => refusal(e),
        })
    }
}

impl From<RecordOnceError> for ResolverError {
    fn from(err: RecordOnceError) -> ResolverError {
        ResolverError(match err {
            RecordOnceError::RecordedOtherwise => coded(
                "this was recorded before with other details, and does not change",
                code::CONFLICT,
            ),
            RecordOnceError::Refused(e) => refusal(e),
        })
    }
}

fn rate_limited(retry_after: u64) -> async_graphql::Error {
    async_graphql::Error::new(format!("too many attempts; try again in {retry_after} s"))
        .extend_with(move |_, e| {
            e.set("code", code::RATE_LIMITED);
            e.set("retryAfter", retry_after);
        })
}

impl From<async_graphql::Error> for ResolverError {
    fn from(err: async_graphql::Error) -> ResolverError {
        ResolverError(err)
    }
}

impl From<ResolverError> for async_graphql::Error {
    fn from(err: ResolverError) -> async_graphql::Error {
        err.0
    }
}

/// A service's refusal as GraphQL shows it: a message and `extensions.code` (with
/// `extensions.fields` for bad input).
pub fn refusal(err: ServiceError) -> async_graphql::Error {
    match err {
        ServiceError::Unauthenticated => coded(
            "not signed in, or the session has ended",
            code::UNAUTHENTICATED,
        ),
        ServiceError::Forbidden => coded("your role may not do this", code::FORBIDDEN),
        ServiceError::NotFound => coded("not found", code::NOT_FOUND),
        ServiceError::Invalid(fields) => {
            let summary = fields
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ");
            let list = Value::List(
                fields
                    .iter()
                    .map(|f| {
                        let mut m = async_graphql::indexmap::IndexMap::new();
                        m.insert(
                            async_graphql::Name::new("field"),
                            Value::from(f.field.clone()),
                        );
                        m.insert(
                            async_graphql::Name::new("message"),
                            Value::from(f.message.clone()),
                        );
                        Value::Object(m)
                    })
                    .collect(),
            );
            async_graphql::Error::new(format!("invalid input: {summary}")).extend_with(
                move |_, e| {
                    e.set("code", code::BAD_USER_INPUT);
                    e.set("fields", list.clone());
                },
            )
        }
        ServiceError::Unavailable(cause) => {
            tracing::error!(error = format!("{cause:#}"), "database unavailable");
            coded("the service is busy; try again shortly", code::INTERNAL)
        }
        ServiceError::Internal(cause) => {
            tracing::error!(error = format!("{cause:#}"), "internal error");
            coded("internal error", code::INTERNAL)
        }
    }
}

/// An error with a code and nothing else.
pub fn coded(message: &str, code: &'static str) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(move |_, e| e.set("code", code))
}
