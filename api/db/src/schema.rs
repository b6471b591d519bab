// @generated automatically by Diesel CLI.

diesel::table! {
    activity (id) {
        id -> Uuid,
        child_id -> Uuid,
        actor_id -> Nullable<Uuid>,
        kind -> Text,
        involvement_id -> Nullable<Uuid>,
        task_id -> Nullable<Uuid>,
        contact_id -> Nullable<Uuid>,
        at -> Timestamptz,
        details -> Jsonb,
        txid -> Int8,
        seq -> Int8,
        snapshot -> Nullable<Jsonb>,
    }
}

diesel::table! {
    agencies (id) {
        id -> Uuid,
        name -> Text,
        kind -> Text,
        sensitive -> Bool,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agency_children (agency_id, ref_) {
        agency_id -> Uuid,
        #[sql_name = "ref"]
        ref_ -> Text,
        child_id -> Nullable<Uuid>,
        given_name -> Text,
        family_name -> Text,
        date_of_birth -> Date,
        gender -> Nullable<Text>,
        postcode -> Nullable<Text>,
        nhs_number -> Nullable<Text>,
        school_upn -> Nullable<Text>,
        la_id -> Nullable<Text>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    agency_contacts (agency_id, ref_) {
        agency_id -> Uuid,
        #[sql_name = "ref"]
        ref_ -> Text,
        contact_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    agency_involvements (agency_id, ref_) {
        agency_id -> Uuid,
        #[sql_name = "ref"]
        ref_ -> Text,
        involvement_id -> Uuid,
        child_ref -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Uuid,
        agency_id -> Uuid,
        name -> Text,
        scopes -> Array<Text>,
        secret_hash -> Nullable<Bytea>,
        public_key_pem -> Nullable<Text>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        actor_agency_id -> Nullable<Uuid>,
        action -> Text,
        child_id -> Nullable<Uuid>,
        subject_type -> Nullable<Text>,
        subject_id -> Nullable<Uuid>,
        request_id -> Nullable<Text>,
        client_addr -> Nullable<Text>,
        reason -> Nullable<Text>,
        details -> Jsonb,
        sealed -> Jsonb,
    }
}

diesel::table! {
    child_identities (id) {
        id -> Uuid,
        child_id -> Uuid,
        involvement_id -> Nullable<Uuid>,
        given_name -> Text,
        family_name -> Text,
        gender -> Nullable<Text>,
        postcode -> Nullable<Text>,
        nhs_number -> Nullable<Text>,
        school_upn -> Nullable<Text>,
        la_id -> Nullable<Text>,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    children (id) {
        id -> Uuid,
        date_of_birth -> Date,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    contacts (id) {
        id -> Uuid,
        involvement_id -> Uuid,
        kind -> Text,
        outcome -> Text,
        at -> Timestamptz,
        recorded_by -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    daily_runs (job, run_on) {
        job -> Text,
        run_on -> Date,
        started_at -> Timestamptz,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        practitioner_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    involvements (id) {
        id -> Uuid,
        child_id -> Uuid,
        practitioner_id -> Uuid,
        agency_id -> Uuid,
        role -> Text,
        sensitivity -> Text,
        consent -> Text,
        consent_recorded_by -> Nullable<Uuid>,
        consent_recorded_at -> Nullable<Timestamptz>,
        lawful_basis -> Nullable<Text>,
        is_lead -> Bool,
        started_on -> Date,
        ended_on -> Nullable<Date>,
        end_reason -> Nullable<Text>,
        last_contact_at -> Nullable<Timestamptz>,
        next_contact_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamptz,
        failures -> Int4,
    }
}

diesel::table! {
    notification_preferences (practitioner_id, kind) {
        practitioner_id -> Uuid,
        kind -> Text,
        delivery -> Text,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        recipient_id -> Uuid,
        kind -> Text,
        child_id -> Nullable<Uuid>,
        status -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        digest_line -> Nullable<Text>,
        digest_id -> Nullable<Uuid>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    practitioners (id) {
        id -> Uuid,
        agency_id -> Uuid,
        display_name -> Text,
        email -> Text,
        job_title -> Nullable<Text>,
        phone -> Nullable<Text>,
        mobile -> Nullable<Text>,
        role -> Text,
        active -> Bool,
        password_hash -> Nullable<Text>,
        deactivated_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        kind -> Text,
        staff_ref -> Nullable<Text>,
    }
}

diesel::table! {
    rate_windows (bucket, window_start) {
        bucket -> Text,
        window_start -> Timestamptz,
        hits -> Int4,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        family_id -> Uuid,
        practitioner_id -> Uuid,
        token_hash -> Bytea,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        successor_sealed -> Nullable<Bytea>,
    }
}

diesel::table! {
    sharing_agreements (id) {
        id -> Uuid,
        from_agency_id -> Uuid,
        to_agency_id -> Uuid,
        purpose -> Text,
        starts_on -> Date,
        ends_on -> Nullable<Date>,
        created_by -> Uuid,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    task_overdue_notices (task_id, noticed_on) {
        task_id -> Uuid,
        noticed_on -> Date,
    }
}

diesel::table! {
    tasks (id) {
        id -> Uuid,
        child_id -> Uuid,
        title -> Text,
        description -> Nullable<Text>,
        assignee_id -> Nullable<Uuid>,
        created_by -> Uuid,
        due_on -> Nullable<Date>,
        status -> Text,
        closed_at -> Nullable<Timestamptz>,
        closed_by -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(activity -> children (child_id));
diesel::joinable!(child_identities -> children (child_id));
diesel::joinable!(child_identities -> involvements (involvement_id));
diesel::joinable!(activity -> contacts (contact_id));
diesel::joinable!(activity -> involvements (involvement_id));
diesel::joinable!(activity -> practitioners (actor_id));
diesel::joinable!(activity -> tasks (task_id));
diesel::joinable!(agency_children -> agencies (agency_id));
diesel::joinable!(agency_children -> children (child_id));
diesel::joinable!(agency_contacts -> contacts (contact_id));
diesel::joinable!(agency_involvements -> involvements (involvement_id));
diesel::joinable!(api_clients -> agencies (agency_id));
diesel::table! {
    family_links (id) {
        id -> Uuid,
        child_id -> Uuid,
        relation -> Text,
        sibling_id -> Nullable<Uuid>,
        name -> Nullable<Text>,
        description -> Nullable<Text>,
        recorded_by -> Nullable<Uuid>,
        recorded_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        removed_by -> Nullable<Uuid>,
    }
}

diesel::joinable!(audit_events -> agencies (actor_agency_id));
diesel::joinable!(audit_events -> children (child_id));
diesel::joinable!(audit_events -> practitioners (actor_id));
diesel::joinable!(contacts -> involvements (involvement_id));
diesel::joinable!(contacts -> practitioners (recorded_by));
diesel::joinable!(invitations -> practitioners (practitioner_id));
diesel::joinable!(involvements -> agencies (agency_id));
diesel::joinable!(involvements -> children (child_id));
diesel::joinable!(notification_preferences -> practitioners (practitioner_id));
diesel::joinable!(notifications -> children (child_id));
diesel::joinable!(notifications -> practitioners (recipient_id));
diesel::joinable!(practitioners -> agencies (agency_id));
diesel::joinable!(refresh_tokens -> practitioners (practitioner_id));
diesel::joinable!(task_overdue_notices -> tasks (task_id));
diesel::joinable!(tasks -> children (child_id));

diesel::table! {
    idempotency_keys (client_id, key) {
        client_id -> Uuid,
        key -> Text,
        fingerprint -> Bytea,
        status -> Int2,
        body -> Text,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(idempotency_keys -> api_clients (client_id));

diesel::table! {
    persisted_queries (hash) {
        hash -> Text,
        query -> Text,
        registered -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_subscriptions (id) {
        id -> Uuid,
        agency_id -> Uuid,
        url -> Text,
        event_types -> Array<Text>,
        secret -> Text,
        previous_secret -> Nullable<Text>,
        previous_until -> Nullable<Timestamptz>,
        status -> Text,
        next_sequence -> Int8,
        next_attempt_at -> Timestamptz,
        consecutive_failures -> Int4,
        failing_since -> Nullable<Timestamptz>,
        lease_until -> Nullable<Timestamptz>,
        created_by -> Uuid,
        created_at -> Timestamptz,
        deleted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        subscription_id -> Uuid,
        activity_id -> Uuid,
        event_type -> Text,
        event -> Jsonb,
        sequence -> Nullable<Int8>,
        payload -> Nullable<Text>,
        status -> Text,
        attempts -> Int4,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        delivered_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(webhook_subscriptions -> agencies (agency_id));
diesel::joinable!(webhook_deliveries -> webhook_subscriptions (subscription_id));
diesel::joinable!(webhook_deliveries -> activity (activity_id));

diesel::allow_tables_to_appear_in_same_query!(
    family_links,
    child_identities,
    activity,
    agencies,
    agency_children,
    agency_contacts,
    agency_involvements,
    api_clients,
    audit_events,
    children,
    contacts,
    daily_runs,
    idempotency_keys,
    invitations,
    involvements,
    login_failures,
    notification_preferences,
    notifications,
    persisted_queries,
    practitioners,
    rate_windows,
    refresh_tokens,
    sharing_agreements,
    task_overdue_notices,
    tasks,
    webhook_deliveries,
    webhook_subscriptions,
);
