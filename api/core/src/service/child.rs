//! Children: registering, finding, reading (rules 1 and 2).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection};
use uuid::Uuid;
use validator::Validate;

use crate::auth::RequestMeta;
use crate::db::activity::Change;
use crate::db::child_identities::{self, NewIdentity};
use crate::db::children;
use crate::db::models::{ActivityRow, ChildRow, InvolvementRow};
use crate::db::{activity, agencies, involvements};
use crate::domain::{ActivityKind, AuditAction};
use crate::domain::{Date, LawfulBasis, Sensitivity};
use crate::mail::compose::Links;
use crate::mail::notify;
use crate::policy::{self, Reader};
use crate::service::audit::{self, AuditEvent};
use crate::service::audit_batch::ReadEvent;
use crate::service::error::{
    from_validation, validate_not_blank, FieldError, LimitedError, ServiceError, ServiceResult,
};
use crate::service::events;
use crate::service::involvement::TeamMember;
use crate::service::page::{self, Page, PageRequest, Slice};
use crate::service::rate;
use crate::service::search;
use crate::service::task::TaskWithAssignee;
use crate::service::trimmed;
use crate::state::AppState;

/// A new child, with the caller's own involvement.
#[derive(Debug, Clone, Validate, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterChildInput {
    #[validate(length(min = 1, max = 100), custom(function = validate_not_blank))]
    pub given_name: String,
    #[validate(length(min = 1, max = 100), custom(function = validate_not_blank))]
    pub family_name: String,
    pub date_of_birth: Date,
    #[validate(length(max = 50))]
    pub gender: Option<String>,
    #[validate(custom(function = validate_postcode))]
    pub postcode: Option<String>,
    /// The caller's own involvement with the new child.
    #[validate(length(min = 1, max = 100), custom(function = validate_not_blank))]
    pub role: String,
    pub sensitivity: Option<Sensitivity>,
    pub lawful_basis: Option<LawfulBasis>,
}

/// A UK postcode: an outward code, a space (optional) and an inward code.
pub fn validate_postcode(value: &str) -> Result<(), validator::ValidationError> {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^(?i)[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$").expect("valid regex")
    });
    if RE.is_match(value.trim()) {
        Ok(())
    } else {
        Err(validator::ValidationError::new("postcode")
            .with_message("is not a UK postcode such as KB1 4AX".into()))
    }
}

/// "kb14ax" becomes "KB1 4AX".
pub fn tidy_postcode(value: &str) -> String {
    let compact: String = value.split_whitespace().collect::<String>().to_uppercase();
    let split = compact.len().saturating_sub(3);
    format!("{} {}", &compact[..split], &compact[split..])
}

/// Checks a date of birth: not in the future, not before 1900.
pub fn check_date_of_birth(
    field: &str,
    dob: chrono::NaiveDate,
    today: chrono::NaiveDate,
) -> Option<FieldError> {
    if dob > today {
        Some(FieldError::new(field, "must not be in the future"))
    } else if dob < chrono::NaiveDate::from_ymd_opt(1900, 1, 1).expect("valid date") {
        Some(FieldError::new(field, "must be after 1900"))
    } else {
        None
    }
}

/// Collects validator errors and extra field errors into one answer.
pub fn invalid_unless_empty(
    validated: Result<(), validator::ValidationErrors>,
    extra: Vec<FieldError>,
) -> ServiceResult<()> {
    let mut fields = match validated.map_err(from_validation) {
        Err(ServiceError::Invalid(f)) => f,
        _ => Vec::new(),
    };
    fields.extend(extra);
    if fields.is_empty() {
        return Ok(());
    }
    fields.sort_by(|a, b| a.field.cmp(&b.field));
    fields.dedup_by(|a, b| a.field == b.field);
    Err(ServiceError::Invalid(fields))
}

/// Creates the child and the caller's involvement. When a child with the same names and date
/// of birth exists, the caller is attached to that record instead (rule 2): the answer looks as
/// it would for a new record.
pub async fn register_child(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    input: RegisterChildInput,
) -> ServiceResult<InvolvementRow> {
    let mut extra = Vec::new();
    if let Some(e) = check_date_of_birth("dateOfBirth", input.date_of_birth.0, reader.today) {
        extra.push(e);
    }
    invalid_unless_empty(input.validate(), extra)?;
    let meta = meta.clone();
    let links = Links::of(&state.config);
    crate::db::run(&state.pool, move |conn| {
        conn.transaction(|conn| {
            let actor = reader.actor;
            let sensitive = agencies::is_sensitive(conn, actor.agency_id)?;
            let sensitivity = policy::initial_sensitivity(sensitive, input.sensitivity)
                .map_err(|m| ServiceError::invalid("sensitivity", m))?;
            let given = input.given_name.trim();
            let family = input.family_name.trim();
            let postcode = trimmed(input.postcode.as_deref()).map(tidy_postcode);
            let gender = trimmed(input.gender.as_deref());

            // One registration of these names and date of birth at a time, so that two at
            // once cannot make two records of one child.
            let dob = input.date_of_birth.0;
            children::lock_registration(conn, given, family, dob)?;
            // The same names as any source wrote them, and the same date of birth.
            let existing = children::find_by_names(conn, given, family, dob)?;
            let (child_id, attached) = match existing {
                Some(child) => {
                    if involvements::is_active_member(conn, child, actor.practitioner_id)? {
                        return Err(ServiceError::invalid(
                            "familyName",
                            "you are already on the team of a child with these names and date of birth",
                        ));
                    }
                    // The record is shared; the details are the caller's own (rule 2), and
                    // nothing of the record changes: the answer must look like a new one.
                    (child, true)
                }
                None => (children::insert(conn, dob)?, false),
            };
            let involvement = crate::service::involvement::start(
                conn,
                &reader,
                child_id,
                input.role.trim(),
                sensitivity,
                input.lawful_basis,
            )?;
            child_identities::insert(
                conn,
                NewIdentity {
                    child: child_id,
                    involvement: involvement.id,
                    given_name: given,
                    family_name: family,
                    gender,
                    postcode: postcode.as_deref(),
                    nhs_number: None,
                    school_upn: None,
                    la_id: None,
                },
            )?;
            events::record(
                conn,
                reader.today,
                Change {
                    child_id,
                    actor_id: Some(actor.practitioner_id),
                    involvement_id: Some(involvement.id),
                    ..Change::of(ActivityKind::InvolvementStarted)
                },
            )?;
            let cx = notify::Context {
                links: &links,
                today: reader.today,
                actor: actor.practitioner_id,
            };
            notify::team_changed(conn, &cx, &involvement, true)?;
            audit::record(
                conn,
                Some(&actor),
                &meta,
                AuditEvent {
                    child_id: Some(child_id),
                    subject_type: Some("involvement"),
                    subject_id: Some(involvement.id),
                    sealed: Some(serde_json::json!({ "attachedToExisting": attached })),
                    ..AuditEvent::of(AuditAction::ChildRegistered)
                },
            )?;
            Ok(involvement)
        })
    })
    .await
}

/// Whether the reader may read this child's record (rule 1).
pub fn may_read(conn: &mut PgConnection, reader: &Reader, child: Uuid) -> ServiceResult<bool> {
    Ok(children::exists(
        conn,
        child,
        policy::child_readable_sql(reader, "children.id"),
    )?)
}

/// The child's record, audited as a read; None when it does not exist or the reader may not
/// read it (the same answer).
pub async fn get_child(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    id: Uuid,
) -> ServiceResult<Option<ChildRow>> {
    Ok(children_by_ids(state, reader, meta, vec![id])
        .await?
        .remove(&id))
}

/// Children by id as the reader sees them, for batch loading: only those whose record the
/// reader may read, each read audited (`CHILD_VIEWED`) in the same statement.
pub async fn children_by_ids(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, ChildRow>> {
    let meta = meta.clone();
    crate::db::run(&state.pool, move |conn| {
        children_read(conn, &reader, &meta, ids)
    })
    .await
}

/// [`children_by_ids`] on a connection the caller holds.
pub(crate) fn children_read(
    conn: &mut PgConnection,
    reader: &Reader,
    meta: &RequestMeta,
    ids: Vec<Uuid>,
) -> ServiceResult<HashMap<Uuid, ChildRow>> {
    let seen = policy::child_as_seen_sql(reader);
    let readable = policy::child_readable_sql(reader, "children.id");
    let viewed = audit::record_per_row_sql(
        &reader.actor,
        meta,
        AuditAction::ChildViewed,
        "child",
        audit::PerRow {
            source: "c",
            child: "id",
            subject: "id",
        },
    );
    let rows = children::read_recorded(conn, seen, ids, readable, viewed)?;
    Ok(rows.into_iter().map(|r| (r.id, r)).collect())
}

/// The team screen's reads, asked for together: the child (read and audited as
/// [`get_child`]), and when it is readable, its active team and its tasks if wanted.
#[derive(Debug)]
pub struct TeamScreen {
    pub child: ChildRow,
    pub team: Option<Vec<TeamMember>>,
    pub tasks: Option<Vec<TaskWithAssignee>>,
}

/// The team screen in one statement: the child (read as [`get_child`] reads it), and when it
/// is readable, its active team as [`crate::service::involvement::teams`] shows it and its
/// tasks as [`crate::service::task::tasks_of`] shows them, each only if wanted. The rules are
/// those of the three reads; the child's readability is decided once, and nothing more is read
/// for a child the reader may not read. The read is recorded (`CHILD_VIEWED`) through the
/// process's appender, with other reads of the moment in one commit, and the screen returned
/// only once its event is committed.
pub async fn team_screen(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    id: Uuid,
    with_team: bool,
    with_tasks: bool,
) -> ServiceResult<Option<TeamScreen>> {
    let seen = policy::child_as_seen_sql(&reader);
    let readable = policy::child_readable_sql(&reader, "children.id");
    // Over the child's kept row (children::team_screen names its parts).
    let team = with_team.then(|| policy::involvement_visible_sql(&reader, "(member.involvement)"));
    let tasks = with_tasks.then(|| policy::kept_task_visible_sql(&reader, "entry.namers"));
    let screen = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
        Ok(children::team_screen(
            conn, seen, id, readable, team, tasks,
        )?)
    })
    .await?;
    let Some(screen) = screen else {
        return Ok(None);
    };
    state
        .audit
        .record(ReadEvent {
            stamp: audit::stamp(&reader.actor, meta),
            action: AuditAction::ChildViewed,
            subject_type: "child",
            child_id: id,
            subject_id: id,
        })
        .await?;
    Ok(Some(TeamScreen {
        child: screen.child,
        team: screen
            .team
            .map(|members| members.into_iter().map(TeamMember::from).collect()),
        tasks: screen
            .tasks
            .map(|tasks| tasks.into_iter().map(TaskWithAssignee::from).collect()),
    }))
}

/// Children the caller has an active involvement with, by family name, given name and id.
pub async fn my_children(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    request: &PageRequest,
) -> ServiceResult<Page<ChildRow>> {
    // A cursor is the child's id alone: no name reaches a URL or a log.
    let slice: Slice<Uuid> = request.slice()?;
    // A cursor's child is placed by the names the reader sees, and only if the reader may
    // read it: a crafted cursor naming any other child places nothing.
    let keys = slice.clone().map(|id| {
        (
            id,
            policy::identity_seen_sql(&reader, "ac.id"),
            policy::child_readable_sql(&reader, "ac.id"),
        )
    });
    // Each child shown, and only those, is recorded as listed, against that child.
    let seen = policy::child_as_seen_sql(&reader);
    let listed = audit::record_per_row_sql(
        &reader.actor,
        meta,
        AuditAction::ChildListed,
        "child",
        audit::PerRow {
            source: "shown",
            child: "id",
            subject: "id",
        },
    );
    let me = reader.actor.practitioner_id;
    let rows = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
        Ok(children::page_of_member(conn, seen, me, keys, listed)?)
    })
    .await?;
    Ok(page::paginate(rows, &slice, |c: &ChildRow| c.id))
}

/// What a search shows: only what confirms identity.
#[derive(Debug, Clone)]
pub struct ChildMatch {
    pub child: ChildRow,
    pub score: f64,
}

/// What a practitioner typed to find a child.
#[derive(Debug, Clone)]
pub struct SearchCriteria {
    pub family_name: String,
    pub date_of_birth: chrono::NaiveDate,
    pub given_name: Option<String>,
    pub postcode: Option<String>,
}

/// At most this many matches.
pub const MAX_MATCHES: usize = 10;

/// Finds children by family name and date of birth (given name and postcode narrow it).
/// Children whose every active involvement is hidden from the searcher are not candidates.
pub async fn search_children(
    state: &AppState,
    reader: Reader,
    meta: &RequestMeta,
    criteria: SearchCriteria,
) -> Result<Vec<ChildMatch>, LimitedError> {
    let mut fields = Vec::new();
    if criteria.family_name.trim().is_empty() {
        fields.push(FieldError::new("familyName", "must not be blank"));
    } else if criteria.family_name.chars().count() > 100 {
        fields.push(FieldError::new(
            "familyName",
            "must be at most 100 characters",
        ));
    }
    if criteria
        .given_name
        .as_deref()
        .is_some_and(|g| g.chars().count() > 100)
    {
        fields.push(FieldError::new(
            "givenName",
            "must be at most 100 characters",
        ));
    }
    if criteria
        .postcode
        .as_deref()
        .is_some_and(|p| p.chars().count() > 10)
    {
        fields.push(FieldError::new("postcode", "must be at most 10 characters"));
    }
    if !fields.is_empty() {
        return Err(ServiceError::Invalid(fields).into());
    }
    let meta = meta.clone();
    let limit = state.config.search_limit;
    let criteria_json = serde_json::json!({
        "familyName": criteria.family_name,
        "dateOfBirth": criteria.date_of_birth,
        "givenName": criteria.given_name,
        "postcode": criteria.postcode,
    });
    let found = crate::db::run(&state.pool, move |conn| -> ServiceResult<_> {
        conn.transaction(|conn| {
            // Counted before searching: a refused search is itself evidence worth keeping.
            let bucket = format!("search:{}", reader.actor.practitioner_id);
            let hits = rate::hit(conn, &bucket, limit.window, Utc::now())?;
            if hits > limit.per_window as i32 {
                audit::record(
                    conn,
                    Some(&reader.actor),
                    &meta,
                    AuditEvent {
                        details: Some(criteria_json),
                        ..AuditEvent::of(AuditAction::SearchRateLimited)
                    },
                )?;
                return Ok(None);
            }
            // Matched and scored on the details the searcher may see, and nothing else.
            let candidates = children::born_on(
                conn,
                policy::child_as_seen_sql(&reader),
                criteria.date_of_birth,
                policy::child_findable_sql(&reader, "children"),
            )?;
            let mut matches: Vec<ChildMatch> = candidates
                .into_iter()
                .filter_map(|child| {
                    search::score(
                        &criteria.family_name,
                        criteria.given_name.as_deref(),
                        criteria.postcode.as_deref(),
                        &child.family_name,
                        &child.given_name,
                        child.postcode.as_deref(),
                    )
                    .map(|score| ChildMatch { child, score })
                })
                .collect();
            matches.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then_with(|| a.child.family_name.cmp(&b.child.family_name))
                    .then_with(|| a.child.given_name.cmp(&b.child.given_name))
                    .then_with(|| a.child.id.cmp(&b.child.id))
            });
            matches.truncate(MAX_MATCHES);
            audit::record(
                conn,
                Some(&reader.actor),
                &meta,
                AuditEvent {
                    details: Some({
                        let mut details = criteria_json;
                        details["matches"] = serde_json::json!(matches
                            .iter()
                            .map(|m| m.child.id)
                            .collect::<Vec<_>>());
                        details
                    }),
                    ..AuditEvent::of(AuditAction::ChildSearched)
                },
            )?;
            Ok(Some(matches))
        })
    })
    .await?;
    // The refusal's audit event has committed; only now is the caller told.
    found.ok_or(LimitedError::RateLimited {
        retry_after: rate::seconds_left(Utc::now(), limit.window),
    })
}

type TimelineKey = (DateTime<Utc>, Uuid);

/// The child's timeline, newest first: only events the reader may see.
pub async fn timeline(
    state: &AppState,
    reader: Reader,
    child: Uuid,
    request: &PageRequest,
) -> ServiceResult<Page<ActivityRow>> {
    let slice: Slice<TimelineKey> = request.slice()?;
    crate::db::run(&state.pool, move |conn| {
        let visible = policy::child_readable_sql(&reader, "activity.child_id")
            .sql(" AND ")
            .append(policy::activity_visible_sql(&reader, "activity"));
        let rows = activity::page(conn, child, visible, slice.clone())?;
        Ok(page::paginate(rows, &slice, |a: &ActivityRow| (a.at, a.id)))
    })
    .await
}

/// The NHS number of a child as the reader sees its record (rule 2: recorded through an
/// involvement they may see), if any. The caller has read the child already.
pub async fn nhs_number_seen(
    state: &AppState,
    reader: Reader,
    child: Uuid,
) -> ServiceResult<Option<String>> {
    crate::db::run(&state.pool, move |conn| {
        Ok(crate::db::children::nhs_number_seen(
            conn,
            child,
            policy::identity_seen_sql(&reader, "children.id"),
        )?)
    })
    .await
}

/// The children the reader may read whose record, as they see it, holds the NHS number `nhs`.
pub async fn find_by_nhs_number(
    state: &AppState,
    reader: Reader,
    nhs: String,
) -> ServiceResult<Vec<Uuid>> {
    crate::db::run(&state.pool, move |conn| {
        Ok(crate::db::children::with_nhs_number_seen(
            conn,
            &nhs,
            policy::identity_seen_sql(&reader, "children.id"),
            policy::child_readable_sql(&reader, "children.id"),
        )?)
    })
    .await
}
