//! Who may see and do what: the only place access rules live (PRODUCT.md, "Who may see what").
//!
//! Each rule is a function that services call before they read or write. Rules about lists of
//! personal data are expressed as SQL filters so that counts and pages are right.

use uuid::Uuid;

use crate::auth::Actor;
use crate::domain::Role;
use crate::service::error::{ServiceError, ServiceResult};

/// Rule 7: work profiles (and the agency directory) are visible to every signed-in person.
pub fn may_read_profiles(_actor: &Actor) -> bool {
    true
}

/// Rule 8: only system admins manage agencies.
pub fn ensure_may_create_agency(actor: &Actor) -> ServiceResult<()> {
    match actor.role {
        Role::SystemAdmin => Ok(()),
        _ => Err(ServiceError::Forbidden),
    }
}

/// System admins create accounts in any agency with any role; agency admins in their own
/// agency with roles up to agency admin; practitioners create none.
pub fn ensure_may_create_practitioner(
    actor: &Actor,
    agency: Uuid,
    role: Role,
) -> ServiceResult<()> {
    let own_agency = actor.agency_id == agency;
    let allowed = match actor.role {
        Role::SystemAdmin => true,
        Role::AgencyAdmin => own_agency && actor.role.may_grant(role),
        Role::Practitioner => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

/// Whether the actor may manage accounts at all (before knowing which one).
pub fn ensure_manages_accounts(actor: &Actor) -> ServiceResult<()> {
    match actor.role {
        Role::SystemAdmin | Role::AgencyAdmin => Ok(()),
        Role::Practitioner => Err(ServiceError::Forbidden),
    }
}

/// Rule 10: an agency's webhooks are managed by its own admins, as its API clients are.
pub fn ensure_manages_webhooks(actor: &Actor) -> ServiceResult<()> {
    ensure_manages_api_clients(actor)
}

/// Rule 10: API clients are registered, listed and revoked by their own agency's admins
/// (system admins manage the installation, not an agency's integrations).
pub fn ensure_manages_api_clients(actor: &Actor) -> ServiceResult<()> {
    match actor.role {
        Role::AgencyAdmin => Ok(()),
        Role::SystemAdmin | Role::Practitioner => Err(ServiceError::Forbidden),
    }
}

/// Deactivation: system admins anyone; agency admins their own agency's staff below system
/// admin. Nobody deactivates themselves (an install must never lose its last admin by accident).
pub fn ensure_may_deactivate(
    actor: &Actor,
    target_id: Uuid,
    target_agency: Uuid,
    target_role: Role,
) -> ServiceResult<()> {
    if target_id == actor.practitioner_id {
        return Err(ServiceError::Forbidden);
    }
    let allowed = match actor.role {
        Role::SystemAdmin => true,
        Role::AgencyAdmin => actor.agency_id == target_agency && target_role != Role::SystemAdmin,
        Role::Practitioner => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(ServiceError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, agency: Uuid) -> Actor {
        Actor {
            practitioner_id: Uuid::new_v4(),
            agency_id: agency,
            role,
        }
    }

    #[test]
    fn account_creation() {
        let a = Uuid::new_v4();
        let b = Uuid::new_v4();
        let admin = actor(Role::AgencyAdmin, a);
        assert!(ensure_may_create_practitioner(&admin, a, Role::AgencyAdmin).is_ok());
        assert!(ensure_may_create_practitioner(&admin, b, Role::Practitioner).is_err());
        assert!(ensure_may_create_practitioner(&admin, a, Role::SystemAdmin).is_err());
        let sys = actor(Role::SystemAdmin, a);
        assert!(ensure_may_create_practitioner(&sys, b, Role::SystemAdmin).is_ok());
        let p = actor(Role::Practitioner, a);
        assert!(ensure_may_create_practitioner(&p, a, Role::Practitioner).is_err());
    }

    #[test]
    fn deactivation() {
        let a = Uuid::new_v4();
        let admin = actor(Role::AgencyAdmin, a);
        assert!(ensure_may_deactivate(&admin, Uuid::new_v4(), a, Role::Practitioner).is_ok());
        assert!(
            ensure_may_deactivate(&admin, Uuid::new_v4(), Uuid::new_v4(), Role::Practitioner)
                .is_err()
        );
        assert!(ensure_may_deactivate(&admin, Uuid::new_v4(), a, Role::SystemAdmin).is_err());
        assert!(
            ensure_may_deactivate(&admin, admin.practitioner_id, a, Role::AgencyAdmin).is_err()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Children, involvements, tasks and the timeline (rules 1, 2, 3, 6).
//
// The read rules are SQL fragments, so that lists, counts, pages and the timeline are filtered
// by the database and always agree. Their text depends only on the rule and the table alias;
// every id travels as a bind parameter, so each statement is prepared once per connection.

use chrono::NaiveDate;

use crate::db::bound::BoundSql;
use crate::db::models::{InvolvementRow, TaskRow};
use crate::domain::Sensitivity;

/// What one reader may see, settled once per request.
#[derive(Clone, Debug)]
pub struct Reader {
    pub actor: Actor,
    /// Agencies whose RESTRICTED involvements the reader may see: their own, and every agency
    /// that holds an active sharing agreement granted to the reader's agency (rule 3).
    pub restricted_agencies: Vec<Uuid>,
    /// Today in the deployment's time zone: agreements are in force by date.
    pub today: NaiveDate,
}

/// Rule 5: the sharing agreement `s` is in force on `today`: not revoked, started, not ended.
fn agreement_in_force_sql(today: NaiveDate) -> BoundSql {
    BoundSql::new("s.revoked_at IS NULL AND s.starts_on <= ")
        .date(today)
        .sql(" AND (s.ends_on IS NULL OR s.ends_on >= ")
        .date(today)
        .sql(")")
}

/// Rule 3: the agencies that share their RESTRICTED involvements with the agency `to_agency`
/// through an agreement in force on `today`.
pub fn sharing_with_sql(to_agency: BoundSql, today: NaiveDate) -> BoundSql {
    BoundSql::new("SELECT s.from_agency_id FROM sharing_agreements s WHERE s.to_agency_id = ")
        .append(to_agency)
        .sql(" AND ")
        .append(agreement_in_force_sql(today))
}

impl Reader {
    /// The reader `actor`, given the agencies sharing with theirs on `today`
    /// ([`sharing_with_sql`]).
    pub fn new(actor: Actor, mut restricted_agencies: Vec<Uuid>, today: NaiveDate) -> Reader {
        restricted_agencies.push(actor.agency_id);
        restricted_agencies.sort();
        restricted_agencies.dedup();
        Reader {
            actor,
            restricted_agencies,
            today,
        }
    }

    /// Rule 3 on a practitioner's involvements with one child: the reader may see every one
    /// of them, so naming that practitioner betrays nothing (the in-memory twin of the rule
    /// tasks and the timeline use).
    pub fn sees_all(&self, involvements: &[InvolvementRow]) -> bool {
        involvements.iter().all(|inv| self.sees_involvement(inv))
    }

    /// Rule 3 on an in-memory involvement: the same rule as [`involvement_visible_sql`].
    pub fn sees_involvement(&self, inv: &InvolvementRow) -> bool {
        inv.sensitivity == Sensitivity::Standard.as_str()
            || inv.practitioner_id == self.actor.practitioner_id
            || self.restricted_agencies.contains(&inv.agency_id)
    }
}

/// Rules 1 and 2 for joining a team: the child (the row `children`) is one the reader could
/// find by searching, or one whose record they may already read.
pub fn child_joinable_sql(reader: &Reader) -> BoundSql {
    BoundSql::new("(")
        .append(child_findable_sql(reader, "children"))
        .sql(" OR ")
        .append(child_readable_sql(reader, "children.id"))
        .sql(")")
}

/// Rule 10: an agency's own involvements (the row `involvements`), active or ended: its system
/// of record allocated them, and hides nothing from itself.
pub fn agency_own_involvement_sql(reader: &Reader) -> BoundSql {
    BoundSql::new("involvements.agency_id = ").uuid(reader.actor.agency_id)
}

/// Rules 1 and 3 for one involvement (the row `involvements`): the reader's own, or one they
/// may see on a child whose record they may read.
pub fn involvement_readable_sql(reader: &Reader) -> BoundSql {
    BoundSql::new("(involvements.practitioner_id = ")
        .uuid(reader.actor.practitioner_id)
        .sql(" OR (")
        .append(child_readable_sql(reader, "involvements.child_id"))
        .sql(" AND ")
        .append(involvement_visible_sql(reader, "involvements"))
        .sql("))")
}

/// Rule 3: whether the involvement row `alias` exists for this reader.
pub fn involvement_visible_sql(reader: &Reader, alias: &str) -> BoundSql {
    BoundSql::new(format!(
        "({alias}.sensitivity = 'STANDARD' OR {alias}.practitioner_id = "
    ))
    .uuid(reader.actor.practitioner_id)
    .sql(format!(" OR {alias}.agency_id = ANY("))
    .uuids(reader.restricted_agencies.clone())
    .sql("))")
}

/// Rule 1: the ids of children whose record the reader may read — those they have an active
/// involvement with, and for agency admins those their agency's practitioners are involved with.
/// System admins get nothing special.
pub fn readable_child_ids_sql(reader: &Reader) -> BoundSql {
    let mine = BoundSql::new("SELECT r.child_id FROM involvements r WHERE r.ended_on IS NULL AND ")
        .sql("(r.practitioner_id = ")
        .uuid(reader.actor.practitioner_id);
    match reader.actor.role {
        Role::AgencyAdmin => mine
            .sql(" OR r.agency_id = ")
            .uuid(reader.actor.agency_id)
            .sql(")"),
        _ => mine.sql(")"),
    }
}

/// Rule 1 as a filter: `child_expr` is the id of a child whose record the reader may read.
pub fn child_readable_sql(reader: &Reader, child_expr: &str) -> BoundSql {
    BoundSql::new(format!("{child_expr} IN ("))
        .append(readable_child_ids_sql(reader))
        .sql(")")
}

/// Rule 2 (identity per source): the identity details of the child `child_expr` as the reader
/// sees them: the row of `child_identities` most recently recorded through an involvement the
/// reader may see. Nothing a hidden service recorded is ever chosen.
pub fn identity_seen_sql(reader: &Reader, child_expr: &str) -> BoundSql {
    BoundSql::new(format!(
        "SELECT ci.* FROM child_identities ci JOIN involvements iv ON iv.id = ci.involvement_id \
         WHERE ci.child_id = {child_expr} AND "
    ))
    .append(involvement_visible_sql(reader, "iv"))
    .sql(" ORDER BY ci.recorded_at DESC, ci.id DESC LIMIT 1")
}

/// Rule 2: children as the reader sees them, in the columns of
/// [`crate::db::models::ChildRow`]; callers add `WHERE` with the rule that lets them read or
/// find the rows. A child with no details the reader may see has no row.
pub fn child_as_seen_sql(reader: &Reader) -> BoundSql {
    BoundSql::new(
        "SELECT children.id, idn.given_name, idn.family_name, children.date_of_birth, \
         idn.gender, idn.postcode, children.version FROM children CROSS JOIN LATERAL (",
    )
    .append(identity_seen_sql(reader, "children.id"))
    .sql(") idn")
}

/// Rule 2: a child can be found (and joined) only through an active involvement the searcher
/// may see; a child known only to hidden services is not found.
pub fn child_findable_sql(reader: &Reader, child_alias: &str) -> BoundSql {
    BoundSql::new(format!(
        "EXISTS (SELECT 1 FROM involvements f WHERE f.child_id = {child_alias}.id AND f.ended_on IS NULL AND "
    ))
    .append(involvement_visible_sql(reader, "f"))
    .sql(")")
}

/// None of the involvements `h` that `from_where` yields (`FROM ... h WHERE ...`) is one the
/// reader may not see: the one test of rules 6 and 9, over the tables or over a kept task's
/// namers.
fn hides_none_of(reader: &Reader, from_where: BoundSql) -> BoundSql {
    BoundSql::new("NOT EXISTS (SELECT 1 ")
        .append(from_where)
        .sql(" AND NOT ")
        .append(involvement_visible_sql(reader, "h"))
        .sql(")")
}

/// None of the practitioners `practitioner_exprs` (columns; a NULL one names nobody) has an
/// involvement with the child `child_expr` that the reader may not see. A task or timeline
/// event that names such a practitioner would betray the hidden involvement. One look at the
/// child's involvements for all of them: a task's creator and assignee cost one subquery.
fn names_nobody_hidden(reader: &Reader, child_expr: &str, practitioner_exprs: &[&str]) -> BoundSql {
    hides_none_of(
        reader,
        BoundSql::new(format!(
            "FROM involvements h WHERE h.child_id = {child_expr} AND h.practitioner_id IN ({})",
            practitioner_exprs.join(", ")
        )),
    )
}

/// Rule 6: none of `practitioners` has an involvement with the child `child` that the reader
/// may not see. Everyone a task names and the person changing it must pass this for each other.
pub fn sees_all_of_sql(reader: &Reader, child: Uuid, practitioners: Vec<Uuid>) -> BoundSql {
    hides_none_of(
        reader,
        BoundSql::new("FROM involvements h WHERE h.child_id = ")
            .uuid(child)
            .sql(" AND h.practitioner_id = ANY(")
            .uuids(practitioners)
            .sql(")"),
    )
}

/// Rule 11: a family link in force (the row `family_links`) is seen by a reader who may read
/// the record of every child it names, and only when its recorder has no involvement with
/// those children that the reader may not see (as for tasks, rule 6: a link recorded through
/// a hidden service would betray it).
pub fn family_link_visible_sql(reader: &Reader) -> BoundSql {
    let sibling = "family_links.sibling_id";
    BoundSql::new("(family_links.removed_at IS NULL AND ")
        .append(child_readable_sql(reader, "family_links.child_id"))
        .sql(" AND ")
        .append(names_nobody_hidden(
            reader,
            "family_links.child_id",
            &["family_links.recorded_by"],
        ))
        .sql(format!(" AND ({sibling} IS NULL OR ("))
        .append(child_readable_sql(reader, sibling))
        .sql(" AND ")
        .append(names_nobody_hidden(
            reader,
            sibling,
            &["family_links.recorded_by"],
        ))
        .sql(")))")
}

/// Rule 6: a task is visible only to readers who may see every practitioner it names.
pub fn task_visible_sql(reader: &Reader, alias: &str) -> BoundSql {
    BoundSql::new("(")
        .append(names_nobody_hidden(
            reader,
            &format!("{alias}.child_id"),
            &[
                &format!("{alias}.created_by"),
                &format!("{alias}.assignee_id"),
            ],
        ))
        .sql(")")
}

/// Rule 6 over a child's kept tasks (migration `kept_teams`): `namers` (an array of
/// `kept_namer`) holds every involvement, active or ended, that the task's creator and
/// assignee have with its child, as [`task_visible_sql`] finds them in the tables.
pub fn kept_task_visible_sql(reader: &Reader, namers: &str) -> BoundSql {
    BoundSql::new("(")
        .append(hides_none_of(
            reader,
            BoundSql::new(format!("FROM unnest({namers}) h WHERE TRUE")),
        ))
        .sql(")")
}

/// Rules 1 and 6 together: the task `alias` is of a child whose record the reader may read, and
/// visible to them.
pub fn task_readable_sql(reader: &Reader, alias: &str) -> BoundSql {
    child_readable_sql(reader, &format!("{alias}.child_id"))
        .sql(" AND ")
        .append(task_visible_sql(reader, alias))
}

/// The timeline shows an event only when its involvement, its task and its actor are all
/// visible to the reader.
pub fn activity_visible_sql(reader: &Reader, alias: &str) -> BoundSql {
    BoundSql::new(format!(
        "(({alias}.involvement_id IS NULL OR EXISTS (SELECT 1 FROM involvements v WHERE v.id = {alias}.involvement_id AND "
    ))
    .append(involvement_visible_sql(reader, "v"))
    .sql(format!(
        ")) AND ({alias}.task_id IS NULL OR EXISTS (SELECT 1 FROM tasks t WHERE t.id = {alias}.task_id AND "
    ))
    .append(task_visible_sql(reader, "t"))
    .sql(format!(")) AND ({alias}.actor_id IS NULL OR "))
    .append(names_nobody_hidden(
        reader,
        &format!("{alias}.child_id"),
        &[&format!("{alias}.actor_id")],
    ))
    .sql("))")
}

/// Rules 1 and 3 for an event in the feed (the row `alias` of `activity`): on a child the
/// reader may read, or about the reader's own involvement (or, for an agency, its own: the end
/// of the last one is still theirs to hear), and naming nothing hidden from them.
pub fn event_visible_sql(reader: &Reader, alias: &str) -> BoundSql {
    let own = match reader.actor.role {
        Role::AgencyAdmin => BoundSql::new(" OR o.agency_id = ").uuid(reader.actor.agency_id),
        _ => BoundSql::new(""),
    };
    BoundSql::new("(")
        .append(child_readable_sql(reader, &format!("{alias}.child_id")))
        .sql(format!(
            " OR EXISTS (SELECT 1 FROM involvements o WHERE o.id = {alias}.involvement_id AND (o.practitioner_id = "
        ))
        .uuid(reader.actor.practitioner_id)
        .append(own)
        .sql("))) AND ")
        .append(activity_visible_sql(reader, alias))
}

/// Rule 6: a practitioner changes or ends their own involvements; agency admins any of their
/// agency's (hand-over when someone leaves).
pub fn may_change_involvement(actor: &Actor, inv: &InvolvementRow) -> bool {
    inv.practitioner_id == actor.practitioner_id
        || (actor.role == Role::AgencyAdmin && inv.agency_id == actor.agency_id)
}

/// Rule 6: contacts are recorded on one's own involvement.
pub fn may_record_contact(actor: &Actor, inv: &InvolvementRow) -> bool {
    inv.practitioner_id == actor.practitioner_id
}

/// Rule 6: the creator and the assignee may change, complete or cancel a task.
pub fn may_update_task(actor: &Actor, task: &TaskRow) -> bool {
    task.created_by == actor.practitioner_id || task.assignee_id == Some(actor.practitioner_id)
}

/// Rule 4: the sensitivity an involvement starts with. Sensitive agencies start RESTRICTED and
/// may not start STANDARD; others choose, STANDARD by default.
pub fn initial_sensitivity(
    agency_sensitive: bool,
    requested: Option<Sensitivity>,
) -> Result<Sensitivity, &'static str> {
    match (agency_sensitive, requested) {
        (true, Some(Sensitivity::Standard)) => {
            Err("a sensitive service's involvement starts RESTRICTED; record consent, then make it STANDARD")
        }
        (true, _) => Ok(Sensitivity::Restricted),
        (false, requested) => Ok(requested.unwrap_or(Sensitivity::Standard)),
    }
}

/// Rule 10 for the systems of record: an agency's API client allocates the agency's own
/// practitioners and records contacts on the agency's own involvements, as its case-management
/// system knows them (the client acts as the agency's admin).
pub fn may_record_contact_for_agency(actor: &Actor, inv: &InvolvementRow) -> bool {
    actor.role == Role::AgencyAdmin && inv.agency_id == actor.agency_id
}

/// Rule 5: only agency admins grant sharing agreements, from their own agency.
pub fn ensure_may_grant_agreement(actor: &Actor) -> ServiceResult<()> {
    match actor.role {
        Role::AgencyAdmin => Ok(()),
        _ => Err(ServiceError::Forbidden),
    }
}

/// Rule 5: an agreement is revoked by an admin of the agency that granted it.
pub fn may_revoke_agreement(actor: &Actor, from_agency: Uuid) -> bool {
    actor.role == Role::AgencyAdmin && actor.agency_id == from_agency
}

// ---------------------------------------------------------------------------------------------
// Notifications: rule 3 applied to each possible recipient.

/// Rule 3 for the agencies that hear of RESTRICTED involvements: those holding an agreement in
/// force on `today` from the agency `from_agency`.
pub fn shared_by_sql(from_agency: Uuid, today: NaiveDate) -> BoundSql {
    BoundSql::new("SELECT s.to_agency_id FROM sharing_agreements s WHERE s.from_agency_id = ")
        .uuid(from_agency)
        .sql(" AND ")
        .append(agreement_in_force_sql(today))
}

/// Whether `inv` is hidden from some readers (rule 3): it is not STANDARD.
pub fn is_restricted(inv: &InvolvementRow) -> bool {
    inv.sensitivity != Sensitivity::Standard.as_str()
}

/// Rule 3 for one team member, practitioner `member` of agency `agency`, who would read `inv`:
/// `shared_with` are the agencies [`shared_by_sql`] names for the involvement's agency.
pub fn member_sees_involvement(
    inv: &InvolvementRow,
    member: Uuid,
    agency: Uuid,
    shared_with: &[Uuid],
) -> bool {
    !is_restricted(inv)
        || member == inv.practitioner_id
        || agency == inv.agency_id
        || shared_with.contains(&agency)
}

/// Rule 8: system admins manage the installation (failed notifications, the audit log).
pub fn ensure_system_admin(actor: &Actor) -> ServiceResult<()> {
    match actor.role {
        Role::SystemAdmin => Ok(()),
        _ => Err(ServiceError::Forbidden),
    }
}

// ---------------------------------------------------------------------------------------------
// The audit log (rules 8 and 9).

/// Rule 8: which audit events `actor` may read — system admins all; agency admins those whose
/// actor was one of their agency's staff at the time, other than system admins; nobody else any.
pub fn audit_scope_sql(actor: &Actor, alias: &str) -> ServiceResult<BoundSql> {
    match actor.role {
        Role::SystemAdmin => Ok(BoundSql::new("TRUE")),
        // A system admin's investigations (what they looked at, their reads of the log) are
        // for other system admins, though they belong to an agency.
        Role::AgencyAdmin => Ok(BoundSql::new(format!("{alias}.actor_agency_id = "))
            .uuid(actor.agency_id)
            .sql(format!(
                " AND NOT EXISTS (SELECT 1 FROM practitioners sa WHERE sa.id = {alias}.actor_id \
                 AND sa.role = 'SYSTEM_ADMIN')"
            ))),
        Role::Practitioner => Err(ServiceError::Forbidden),
    }
}

/// Rule 8: what an event's actor was not told (its sealed details) is for system admins alone;
/// an agency admin reads their staff's events with only what the staff member could see.
pub fn may_read_sealed_audit(actor: &Actor) -> bool {
    actor.role == Role::SystemAdmin
}

/// Rule 9: a view of a child's record (the audit event `alias`) is listed to a reader only when
/// no involvement of the viewer's agency with that child is hidden from the reader; listing it
/// would betray that involvement.
pub fn view_listable_sql(reader: &Reader, alias: &str) -> BoundSql {
    hides_none_of(
        reader,
        BoundSql::new(format!(
            "FROM involvements h WHERE h.child_id = {alias}.child_id \
             AND h.agency_id = {alias}.actor_agency_id"
        )),
    )
}

#[cfg(test)]
mod sql_tests {
    use diesel::pg::Pg;
    use diesel::query_builder::QueryFragment;

    use super::*;
    use crate::db::schema::{children, tasks};
    use diesel::prelude::*;

    fn reader(role: Role, shared: usize) -> Reader {
        Reader {
            actor: Actor {
                practitioner_id: Uuid::new_v4(),
                agency_id: Uuid::new_v4(),
                role,
            },
            restricted_agencies: (0..shared).map(|_| Uuid::new_v4()).collect(),
            today: NaiveDate::from_ymd_opt(2026, 12, 2).unwrap(),
        }
    }

    fn cacheable(query: &dyn QueryFragment<Pg>) -> bool {
        query.is_safe_to_cache_prepared(&Pg).unwrap()
    }

    fn tasks_query(reader: &Reader) -> impl QueryFragment<Pg> {
        tasks::table
            .filter(tasks::child_id.eq_any(vec![Uuid::new_v4(), Uuid::new_v4()]))
            .filter(task_readable_sql(reader, "tasks"))
            .select(tasks::id)
            .into_boxed::<Pg>()
    }

    #[test]
    fn rule_statements_have_one_text_for_every_reader_of_a_role() {
        let a = reader(Role::Practitioner, 1);
        let b = reader(Role::Practitioner, 4);
        let text = |r: &Reader| diesel::debug_query::<Pg, _>(&tasks_query(r)).to_string();
        let (ta, tb) = (text(&a), text(&b));
        let sql = |t: &str| t.split(" -- binds:").next().unwrap().to_owned();
        assert_eq!(sql(&ta), sql(&tb));
        assert!(!sql(&ta).contains(&a.actor.practitioner_id.to_string()));
        assert!(ta.contains(&a.actor.practitioner_id.to_string()), "bound");
    }

    #[test]
    fn rule_statements_may_be_prepared_once_and_reused() {
        // diesel refuses raw SQL text; the check below would catch a rule written that way.
        let raw = tasks::table
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("TRUE"))
            .select(tasks::id);
        assert!(!cacheable(&raw));
        for role in [Role::Practitioner, Role::AgencyAdmin, Role::SystemAdmin] {
            let r = reader(role, 2);
            assert!(cacheable(&tasks_query(&r)));
            let child = children::table
                .filter(children::id.eq(Uuid::new_v4()))
                .filter(child_readable_sql(&r, "children.id"))
                .filter(child_findable_sql(&r, "children"))
                .select(children::id)
                .into_boxed::<Pg>();
            assert!(cacheable(&child));
            let timeline = activity_visible_sql(&r, "activity").query();
            assert!(cacheable(&timeline));
        }
    }
}
