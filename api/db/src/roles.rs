//! Defence in depth: the server runs as a role that owns nothing. `patchwork migrate` (as the
//! owner, `MIGRATION_DATABASE_URL`) creates that role when it is missing and grants it exactly
//! what the service needs: it may read and write the data, but may not alter the schema, and
//! may neither UPDATE, DELETE nor TRUNCATE the audit trail.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel::PgConnection;

/// The user (and password, when given) of a `postgres://user:password@host/db` URL.
pub fn credentials(url: &str) -> Option<(String, Option<String>)> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let (user, password) = match userinfo.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (userinfo, None),
    };
    let decode = |s: &str| -> Option<String> {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).ok()
    };
    let user = decode(user)?;
    (!user.is_empty()).then_some(())?;
    let password = match password {
        Some(p) => Some(decode(p)?),
        None => None,
    };
    Some((user, password))
}

/// Role names we create are plain identifiers: nothing to quote, nothing to inject.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Creates (if missing) and grants the runtime role named by `runtime_url`, connecting as the
/// owner with `owner_url`. Does nothing when both name the same user.
pub fn prepare_runtime_role(owner_url: &str, runtime_url: &str) -> anyhow::Result<Option<String>> {
    let (runtime, password) = credentials(runtime_url)
        .ok_or_else(|| anyhow::anyhow!("DATABASE_URL: names no user for the server's role"))?;
    let owner = credentials(owner_url).map(|(u, _)| u);
    if owner.as_deref() == Some(runtime.as_str()) {
        return Ok(None);
    }
    if !plain_identifier(&runtime) {
        anyhow::bail!(
            "DATABASE_URL: role '{runtime}' must be lower-case letters, digits and underscores"
        );
    }
    let mut conn = PgConnection::establish(owner_url)?;
    let exists = diesel::sql_query("SELECT rolname AS name FROM pg_roles WHERE rolname = $1")
        .bind::<Text, _>(&runtime)
        .load::<Name>(&mut conn)?;
    if exists.is_empty() {
        let password = password.map_or_else(
            || "NULL".to_owned(),
            |p| format!("'{}'", p.replace('\'', "''")),
        );
        conn.batch_execute(&format!(
            "CREATE ROLE {runtime} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD {password}"
        ))
        .map_err(|e| {
            anyhow::anyhow!(
                "MIGRATION_DATABASE_URL: cannot create the role '{runtime}' ({e}); create it, or \
                 give the owner CREATEROLE"
            )
        })?;
    }
    let database = diesel::sql_query("SELECT current_database()::text AS name")
        .get_result::<Name>(&mut conn)?
        .name;
    let database = database.replace('"', "\"\"");
    conn.transaction(|conn| {
        conn.batch_execute(&format!(
            "GRANT CONNECT ON DATABASE \"{database}\" TO {runtime};
             GRANT USAGE ON SCHEMA public TO {runtime};
             REVOKE CREATE ON SCHEMA public FROM {runtime};
             REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {runtime};
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {runtime};
             REVOKE UPDATE, DELETE ON audit_events FROM {runtime};
             REVOKE UPDATE, DELETE ON audit_seals FROM {runtime};
             REVOKE INSERT, UPDATE, DELETE ON child_teams FROM {runtime};
             REVOKE INSERT, UPDATE, DELETE ON __diesel_schema_migrations FROM {runtime};
             GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {runtime};"
        ))
    })?;
    Ok(Some(runtime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_password() {
        assert_eq!(
            credentials(
                "postgres://patchwork_app:s3cr%40t@db.example:5432/patchwork?sslmode=require"
            ),
            Some(("patchwork_app".into(), Some("s3cr@t".into())))
        );
        assert_eq!(
            credentials("postgresql://owner@127.0.0.1/patchwork"),
            Some(("owner".into(), None))
        );
        assert_eq!(credentials("postgres://127.0.0.1/patchwork"), None);
    }

    #[test]
    fn only_plain_role_names() {
        assert!(plain_identifier("patchwork_app"));
        assert!(!plain_identifier("app; DROP TABLE children"));
        assert!(!plain_identifier("App"));
        assert!(!plain_identifier("1app"));
    }
}
