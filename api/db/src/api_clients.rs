//! API clients: vendors' systems registered by an agency admin, each with an account of its
//! own in `practitioners` (same id, kind API_CLIENT) through which it acts.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::PgConnection;
use uuid::Uuid;

use crate::bound::BoundSql;
use crate::domain::{Role, ACCOUNT_API_CLIENT};
use crate::schema::{api_clients, practitioners};

/// An API client as its agency's admins see it.
#[derive(Clone, Debug, Queryable, Selectable)]
#[diesel(table_name = api_clients, check_for_backend(diesel::pg::Pg))]
pub struct ApiClientRow {
    pub id: Uuid,
    pub agency_id: Uuid,
    pub name: String,
    /// OAuth scopes, as stored (`children:write`, ...).
    pub scopes: Vec<String>,
    pub public_key_pem: Option<String>,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A client to register: a shared secret's digest or a public key, not both.
pub struct NewApiClient<'a> {
    pub id: Uuid,
    pub agency: Uuid,
    pub name: &'a str,
    pub scopes: Vec<String>,
    pub secret_hash: Option<Vec<u8>>,
    pub public_key_pem: Option<&'a str>,
    pub created_by: Uuid,
}

/// Registers a client and its account (an agency admin's role, no password, no email anyone
/// can receive).
pub fn insert(conn: &mut PgConnection, new: NewApiClient<'_>) -> QueryResult<ApiClientRow> {
    diesel::insert_into(practitioners::table)
        .values((
            practitioners::id.eq(new.id),
            practitioners::agency_id.eq(new.agency),
            practitioners::display_name.eq(new.name),
            practitioners::email.eq(format!("{}@api-clients.invalid", new.id)),
            practitioners::role.eq(Role::AgencyAdmin.as_str()),
            practitioners::kind.eq(ACCOUNT_API_CLIENT),
        ))
        .execute(conn)?;
    diesel::insert_into(api_clients::table)
        .values((
            api_clients::id.eq(new.id),
            api_clients::agency_id.eq(new.agency),
            api_clients::name.eq(new.name),
            api_clients::scopes.eq(new.scopes),
            api_clients::secret_hash.eq(new.secret_hash),
            api_clients::public_key_pem.eq(new.public_key_pem),
            api_clients::created_by.eq(new.created_by),
        ))
        .returning(ApiClientRow::as_returning())
        .get_result(conn)
}

/// The clients of `agency`, oldest first.
pub fn of_agency(conn: &mut PgConnection, agency: Uuid) -> QueryResult<Vec<ApiClientRow>> {
    api_clients::table
        .filter(api_clients::agency_id.eq(agency))
        .select(ApiClientRow::as_select())
        .order((api_clients::created_at.asc(), api_clients::id.asc()))
        .load(conn)
}

/// The client `id`, locked for an update.
pub fn lock(conn: &mut PgConnection, id: Uuid) -> QueryResult<Option<ApiClientRow>> {
    api_clients::table
        .find(id)
        .select(ApiClientRow::as_select())
        .for_update()
        .first(conn)
        .optional()
}

/// Revokes the client `id` by `by` at `now`, and deactivates its account in the same
/// statement's transaction, so that its tokens stop working on their next use.
pub fn revoke(
    conn: &mut PgConnection,
    id: Uuid,
    by: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<ApiClientRow> {
    diesel::update(practitioners::table.find(id))
        .set((
            practitioners::active.eq(false),
            practitioners::deactivated_at.eq(now),
            practitioners::updated_at.eq(now),
            practitioners::version.eq(practitioners::version + 1),
        ))
        .execute(conn)?;
    diesel::update(api_clients::table.find(id))
        .set((
            api_clients::revoked_at.eq(now),
            api_clients::revoked_by.eq(by),
        ))
        .returning(ApiClientRow::as_returning())
        .get_result(conn)
}

/// A client that may be given a token: not revoked, its account active; with its secret's
/// digest (None for a client that signs assertions with a key).
pub fn usable(
    conn: &mut PgConnection,
    id: Uuid,
) -> QueryResult<Option<(ApiClientRow, Option<Vec<u8>>)>> {
    api_clients::table
        .inner_join(practitioners::table.on(practitioners::id.eq(api_clients::id)))
        .filter(api_clients::id.eq(id))
        .filter(api_clients::revoked_at.is_null())
        .filter(practitioners::active.eq(true))
        .select((ApiClientRow::as_select(), api_clients::secret_hash))
        .first(conn)
        .optional()
}

/// Records the assertion `jti` of `client` as used until `expires_at`; false when it was used
/// already. Expired records of the client are dropped in the same statement.
pub fn use_assertion(
    conn: &mut PgConnection,
    client: Uuid,
    jti: &str,
    expires_at: DateTime<Utc>,
) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Fresh {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        fresh: bool,
    }
    let Fresh { fresh } = BoundSql::new(
        "WITH gone AS (DELETE FROM api_client_assertions WHERE expires_at < now() AND client_id = ",
    )
    .uuid(client)
    .sql("), used AS (INSERT INTO api_client_assertions (client_id, jti, expires_at) VALUES (")
    .uuid(client)
    .sql(", ")
    .text(jti)
    .sql(", ")
    .timestamptz(expires_at)
    .sql(") ON CONFLICT DO NOTHING RETURNING 1) SELECT EXISTS (SELECT 1 FROM used) AS fresh")
    .query()
    .get_result(conn)?;
    Ok(fresh)
}
