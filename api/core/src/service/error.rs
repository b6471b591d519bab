//! The errors every service operation speaks. The edges (GraphQL, REST) map each variant to a
//! code; nothing here knows about HTTP.

use std::borrow::Cow;

/// One field at fault, named as the client wrote it (camelCase, relative to the input).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Why an operation did not happen: the refusals every operation may answer.
///
/// An operation that can also fail in its own way returns its own enum (`LoginError`,
/// `VersionedError`, `RecordOnceError`, `LimitedError`), which holds these as `Refused`; so a
/// transport handles a stale version or a rate limit exactly where one can occur.
///
/// Deliberately without `Display`: GraphQL converts any displayable error into a code-less
/// error, so this type converts only through the edge's explicit mapping.
#[derive(Debug)]
pub enum ServiceError {
    Unauthenticated,
    Forbidden,
    NotFound,
    Invalid(Vec<FieldError>),
    /// No database connection could be had in time.
    Unavailable(anyhow::Error),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ServiceError {
    fn from(err: anyhow::Error) -> ServiceError {
        ServiceError::Internal(err)
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;

/// Signing in: the common refusals, a wrong email or password (the same for an unknown
/// email), or too many attempts.
#[derive(Debug)]
pub enum LoginError {
    WrongCredentials,
    /// `retry_after` seconds until the window resets.
    RateLimited {
        retry_after: u64,
    },
    Refused(ServiceError),
}

/// A change to a versioned record: the common refusals, or a stale `expectedVersion`.
#[derive(Debug)]
pub enum VersionedError {
    Stale { current_version: i32 },
    Refused(ServiceError),
}

/// A record that never changes once made: the common refusals, or the same reference asked
/// for again with other details.
#[derive(Debug)]
pub enum RecordOnceError {
    RecordedOtherwise,
    Refused(ServiceError),
}

/// An operation with a rate limit of its own: the common refusals, or over the limit.
#[derive(Debug)]
pub enum LimitedError {
    /// `retry_after` seconds until the window resets.
    RateLimited {
        retry_after: u64,
    },
    Refused(ServiceError),
}

/// The conversions that let an operation's own error enum take the common refusals (and the
/// data layer's failures) with `?`, and run its work through `db::run`.
macro_rules! beside_refusals {
    ($($name:ident),+) => {$(
        impl From<ServiceError> for $name {
            fn from(err: ServiceError) -> $name {
                $name::Refused(err)
            }
        }

        impl From<anyhow::Error> for $name {
            fn from(err: anyhow::Error) -> $name {
                $name::Refused(err.into())
            }
        }

        impl From<diesel::result::Error> for $name {
            fn from(err: diesel::result::Error) -> $name {
                $name::Refused(err.into())
            }
        }

        impl From<crate::db::DbUnavailable> for $name {
            fn from(err: crate::db::DbUnavailable) -> $name {
                $name::Refused(err.into())
            }
        }

        impl From<crate::db::DbTaskFailed> for $name {
            fn from(err: crate::db::DbTaskFailed) -> $name {
                $name::Refused(err.into())
            }
        }

        impl $name {
            /// Prefixes every field path of a refusal for bad input.
            pub fn within(self, prefix: &str) -> $name {
                match self {
                    $name::Refused(e) => $name::Refused(e.within(prefix)),
                    other => other,
                }
            }
        }

        impl crate::db::RunError for $name {
            fn may_be_connection_failure(&self) -> bool {
                matches!(self, $name::Refused(e) if e.may_be_connection_failure())
            }
        }
    )+};
}

beside_refusals!(LoginError, VersionedError, RecordOnceError, LimitedError);

impl ServiceError {
    /// A single field at fault.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ServiceError {
        ServiceError::Invalid(vec![FieldError::new(field, message)])
    }

    /// Prefixes every field path, e.g. `givenName` becomes `input.givenName`.
    pub fn within(self, prefix: &str) -> ServiceError {
        match self {
            ServiceError::Invalid(fields) => ServiceError::Invalid(
                fields
                    .into_iter()
                    .map(|f| FieldError::new(format!("{prefix}.{}", f.field), f.message))
                    .collect(),
            ),
            other => other,
        }
    }
}

impl From<diesel::result::Error> for ServiceError {
    fn from(err: diesel::result::Error) -> ServiceError {
        ServiceError::Internal(err.into())
    }
}

impl From<diesel::r2d2::PoolError> for ServiceError {
    fn from(err: diesel::r2d2::PoolError) -> ServiceError {
        ServiceError::Unavailable(err.into())
    }
}

impl From<crate::db::DbUnavailable> for ServiceError {
    fn from(err: crate::db::DbUnavailable) -> ServiceError {
        ServiceError::Unavailable(err.into())
    }
}

impl From<crate::db::DbTaskFailed> for ServiceError {
    fn from(err: crate::db::DbTaskFailed) -> ServiceError {
        ServiceError::Internal(err.into())
    }
}

impl crate::db::RunError for ServiceError {
    fn may_be_connection_failure(&self) -> bool {
        matches!(self, ServiceError::Internal(_))
    }
}

/// Turns `validator` errors into field errors named as the client writes them.
pub fn from_validation(errors: validator::ValidationErrors) -> ServiceError {
    let mut fields = Vec::new();
    collect(&errors, "", &mut fields);
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    ServiceError::Invalid(fields)
}

fn collect(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind;
    for (name, kind) in errors.errors() {
        let path = if prefix.is_empty() {
            camel_case(name)
        } else {
            format!("{prefix}.{}", camel_case(name))
        };
        match kind {
            ValidationErrorsKind::Field(list) => {
                // One message per field: the first rule it breaks.
                if let Some(e) = list.first() {
                    out.push(FieldError::new(path.clone(), describe(e)));
                }
            }
            ValidationErrorsKind::Struct(inner) => collect(inner, &path, out),
            ValidationErrorsKind::List(items) => {
                for (i, inner) in items {
                    collect(inner, &format!("{path}.{i}"), out);
                }
            }
        }
    }
}

fn describe(e: &validator::ValidationError) -> String {
    if let Some(message) = &e.message {
        return message.to_string();
    }
    let param = |k: &str| e.params.get(k).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) if min == "1" => format!("must be 1 to {max} characters"),
            (Some(min), Some(max)) => format!("must be {min} to {max} characters"),
            (Some(min), None) => format!("must be at least {min} characters"),
            (None, Some(max)) => format!("must be at most {max} characters"),
            _ => "has the wrong length".to_owned(),
        },
        "email" => "is not a valid email address".to_owned(),
        "range" => "is out of range".to_owned(),
        other => format!("is invalid ({other})"),
    }
}

fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// Checks a phone number: digits with optional spaces, dashes, brackets and a leading `+`.
pub fn validate_phone(value: &str) -> Result<(), validator::ValidationError> {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let allowed = value
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || " -()".contains(c) || (c == '+' && i == 0));
    if allowed && (6..=15).contains(&digits) && value.len() <= 32 {
        Ok(())
    } else {
        Err(validator::ValidationError::new("phone")
            .with_message(Cow::Borrowed("is not a valid phone number")))
    }
}

/// Checks that text is not only white space.
pub fn validate_not_blank(value: &str) -> Result<(), validator::ValidationError> {
    if value.trim().is_empty() {
        Err(validator::ValidationError::new("blank")
            .with_message(Cow::Borrowed("must not be blank")))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_cases_field_names() {
        assert_eq!(camel_case("given_name"), "givenName");
        assert_eq!(camel_case("email"), "email");
        assert_eq!(camel_case("date_of_birth"), "dateOfBirth");
    }

    #[test]
    fn phones() {
        assert!(validate_phone("0113 496 0000").is_ok());
        assert!(validate_phone("+44 (0)113 496-0000").is_ok());
        assert!(validate_phone("call me").is_err());
        assert!(validate_phone("12").is_err());
        assert!(validate_phone("01134960000+").is_err());
    }

    #[test]
    fn prefixes_fields() {
        let err = ServiceError::invalid("email", "taken").within("input");
        match err {
            ServiceError::Invalid(f) => assert_eq!(f[0].field, "input.email"),
            other => panic!("{other:?}"),
        }
    }
}
