// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    account_email_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Bytea,
        email -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Uuid,
        at -> Timestamptz,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Uuid>,
        ip -> Nullable<Text>,
        details -> Jsonb,
    }
}

diesel::table! {
    auth_sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
        expires_at -> Timestamptz,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        ended_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    calendar_event_attendees (event_id, user_id) {
        event_id -> Uuid,
        user_id -> Uuid,
        status -> Text,
        responded_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    calendar_event_overrides (event_id, original_start) {
        event_id -> Uuid,
        original_start -> Timestamptz,
        title -> Nullable<Text>,
        description -> Nullable<Text>,
        start_time -> Timestamptz,
        end_time -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_event_reminders (event_id, user_id) {
        event_id -> Uuid,
        user_id -> Uuid,
        minutes -> Array<Int4>,
        next_at -> Nullable<Timestamptz>,
        job_id -> Nullable<Int8>,
        fired_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    calendar_events (id) {
        id -> Uuid,
        user_id -> Uuid,
        title -> Text,
        description -> Text,
        start_time -> Timestamptz,
        end_time -> Timestamptz,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        rrule -> Nullable<Text>,
        exdates -> Array<Timestamptz>,
        time_zone -> Text,
        series_end -> Nullable<Timestamptz>,
        last_start -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    calendar_feeds (user_id) {
        user_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    conversation_members (conversation_id, user_id) {
        conversation_id -> Uuid,
        user_id -> Uuid,
        joined_at -> Timestamptz,
        last_read_seq -> Int8,
        last_read_message_id -> Nullable<Uuid>,
        notify_level -> Nullable<Text>,
        muted_until -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    conversations (id) {
        id -> Uuid,
        kind -> Text,
        name -> Nullable<Text>,
        created_by -> Uuid,
        direct_key -> Nullable<Text>,
        last_seq -> Int8,
        last_message_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    incoming_webhooks (id) {
        id -> Uuid,
        conversation_id -> Uuid,
        bot_user_id -> Uuid,
        created_by -> Nullable<Uuid>,
        name -> Text,
        token_hash -> Bytea,
        signing_secret -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    jobs (id) {
        id -> Int8,
        queue -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        locked_at -> Nullable<Timestamptz>,
        locked_by -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    message_attachments (id) {
        id -> Uuid,
        uploader_id -> Uuid,
        message_id -> Nullable<Uuid>,
        object_key -> Text,
        file_name -> Text,
        content_type -> Text,
        file_size -> Int8,
        created_at -> Timestamptz,
        attached_at -> Nullable<Timestamptz>,
        object_etag -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    messages (id) {
        id -> Uuid,
        conversation_id -> Uuid,
        seq -> Int8,
        sender_id -> Uuid,
        content -> Text,
        client_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        search_vector -> Nullable<Tsvector>,
        thread_root_id -> Nullable<Uuid>,
        sent_to_conversation -> Bool,
        mentions -> Array<Uuid>,
        mentions_here -> Bool,
        mentions_all -> Bool,
    }
}

diesel::table! {
    message_mentions (message_id, user_id) {
        message_id -> Uuid,
        user_id -> Uuid,
        conversation_id -> Uuid,
        seq -> Int8,
        thread_root_id -> Nullable<Uuid>,
        shown -> Bool,
    }
}

diesel::table! {
    message_edits (id) {
        id -> Int8,
        message_id -> Uuid,
        content -> Text,
        written_at -> Timestamptz,
        replaced_at -> Timestamptz,
    }
}

diesel::table! {
    message_pins (message_id) {
        message_id -> Uuid,
        conversation_id -> Uuid,
        pinned_by -> Uuid,
        pinned_at -> Timestamptz,
    }
}

diesel::table! {
    message_reactions (message_id, emoji, user_id) {
        message_id -> Uuid,
        emoji -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    message_reminders (id) {
        id -> Uuid,
        user_id -> Uuid,
        message_id -> Uuid,
        conversation_id -> Uuid,
        remind_at -> Timestamptz,
        job_id -> Int8,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    message_threads (root_id) {
        root_id -> Uuid,
        conversation_id -> Uuid,
        reply_count -> Int8,
        last_reply_seq -> Int8,
        last_reply_at -> Nullable<Timestamptz>,
        participant_ids -> Array<Uuid>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        attempts -> Int4,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    mfa_recovery_codes (id) {
        id -> Uuid,
        user_id -> Uuid,
        code_hash -> Bytea,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    notification_settings (user_id) {
        user_id -> Uuid,
        time_zone -> Text,
        dnd_schedule -> Jsonb,
        dnd_until -> Nullable<Timestamptz>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Uuid,
        user_id -> Uuid,
        kind -> Text,
        payload -> Jsonb,
        is_read -> Bool,
        created_at -> Timestamptz,
        group_key -> Nullable<Text>,
        source_event -> Nullable<Int8>,
        notified_at -> Nullable<Timestamptz>,
        digest_due_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    oidc_exchange_codes (code_hash) {
        code_hash -> Bytea,
        user_id -> Uuid,
        provider -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    oidc_states (state_hash) {
        state_hash -> Bytea,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    outbox (id) {
        id -> Int8,
        event_type -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        position -> Nullable<Int8>,
        conversation_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    outbox_positions (singleton) {
        singleton -> Bool,
        last -> Int8,
    }
}

diesel::table! {
    personal_access_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        name -> Text,
        token_hash -> Bytea,
        token_prefix -> Text,
        scopes -> Array<Text>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    project_labels (id) {
        id -> Uuid,
        project_id -> Uuid,
        name -> Text,
        colour -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    project_members (project_id, user_id) {
        project_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    projects (id) {
        id -> Uuid,
        name -> Text,
        description -> Text,
        owner_id -> Uuid,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    push_subscriptions (id) {
        id -> Uuid,
        user_id -> Uuid,
        endpoint -> Text,
        p256dh -> Text,
        auth -> Text,
        created_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        family_id -> Uuid,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        replaced_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    saved_messages (user_id, message_id) {
        user_id -> Uuid,
        message_id -> Uuid,
        saved_at -> Timestamptz,
    }
}

diesel::table! {
    scheduled_messages (id) {
        id -> Uuid,
        conversation_id -> Uuid,
        sender_id -> Uuid,
        content -> Text,
        client_id -> Nullable<Text>,
        thread_root_id -> Nullable<Uuid>,
        send_to_conversation -> Bool,
        send_at -> Timestamptz,
        job_id -> Int8,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    task_activity (id) {
        id -> Int8,
        task_id -> Uuid,
        actor_id -> Nullable<Uuid>,
        field -> Text,
        old_value -> Nullable<Jsonb>,
        new_value -> Nullable<Jsonb>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    task_comments (id) {
        id -> Uuid,
        task_id -> Uuid,
        author_id -> Uuid,
        body -> Text,
        mentions -> Array<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        edited_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    task_labels (task_id, label_id) {
        task_id -> Uuid,
        label_id -> Uuid,
    }
}

diesel::table! {
    task_watchers (task_id, user_id) {
        task_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    tasks (id) {
        id -> Uuid,
        project_id -> Uuid,
        title -> Text,
        description -> Text,
        status -> Text,
        assigned_to -> Nullable<Uuid>,
        due_date -> Nullable<Timestamptz>,
        version -> Int8,
        created_by -> Uuid,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        parent_id -> Nullable<Uuid>,
        position -> Text,
        recurrence_frequency -> Nullable<Text>,
        recurrence_interval -> Nullable<Int4>,
        recurred_from -> Nullable<Uuid>,
    }
}

diesel::table! {
    task_due_reminders (task_id) {
        task_id -> Uuid,
        next_at -> Timestamptz,
        job_id -> Int8,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    thread_followers (root_id, user_id) {
        root_id -> Uuid,
        user_id -> Uuid,
        following -> Bool,
        last_read_seq -> Int8,
    }
}

diesel::table! {
    user_identities (provider, subject) {
        provider -> Text,
        subject -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_login_at -> Timestamptz,
    }
}

diesel::table! {
    user_totp (user_id) {
        user_id -> Uuid,
        secret_encrypted -> Bytea,
        enabled_at -> Nullable<Timestamptz>,
        last_step -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        name -> Text,
        email -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        sessions_valid_after -> Nullable<Timestamptz>,
        email_verified -> Bool,
        deactivated_at -> Nullable<Timestamptz>,
        is_bot -> Bool,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        event_position -> Nullable<Int8>,
        event_type -> Text,
        payload -> Jsonb,
        status -> Text,
        attempts -> Int4,
        step -> Int4,
        generation -> Int4,
        last_status_code -> Nullable<Int4>,
        last_duration_ms -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamptz>,
        next_attempt_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_delivery_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        duration_ms -> Nullable<Int4>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        scope -> Text,
        conversation_id -> Nullable<Uuid>,
        project_id -> Nullable<Uuid>,
        url -> Text,
        description -> Text,
        event_types -> Array<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Nullable<Text>,
        previous_secret -> Nullable<Text>,
        previous_secret_expires_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        secret_sealed -> Nullable<Bytea>,
        previous_secret_sealed -> Nullable<Bytea>,
    }
}

diesel::joinable!(account_email_tokens -> users (user_id));
diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(calendar_event_attendees -> calendar_events (event_id));
diesel::joinable!(calendar_event_attendees -> users (user_id));
diesel::joinable!(calendar_event_overrides -> calendar_events (event_id));
diesel::joinable!(calendar_event_reminders -> calendar_events (event_id));
diesel::joinable!(calendar_event_reminders -> users (user_id));
diesel::joinable!(calendar_events -> users (user_id));
diesel::joinable!(calendar_feeds -> users (user_id));
diesel::joinable!(conversation_members -> conversations (conversation_id));
diesel::joinable!(incoming_webhooks -> conversations (conversation_id));
diesel::joinable!(conversation_members -> users (user_id));
diesel::joinable!(conversations -> users (created_by));
diesel::joinable!(message_attachments -> messages (message_id));
diesel::joinable!(message_attachments -> users (uploader_id));
diesel::joinable!(message_mentions -> conversations (conversation_id));
diesel::joinable!(message_mentions -> messages (message_id));
diesel::joinable!(message_mentions -> users (user_id));
diesel::joinable!(message_edits -> messages (message_id));
diesel::joinable!(message_pins -> conversations (conversation_id));
diesel::joinable!(message_pins -> messages (message_id));
diesel::joinable!(message_pins -> users (pinned_by));
diesel::joinable!(message_reactions -> messages (message_id));
diesel::joinable!(message_reactions -> users (user_id));
diesel::joinable!(message_reminders -> conversations (conversation_id));
diesel::joinable!(message_reminders -> messages (message_id));
diesel::joinable!(message_reminders -> users (user_id));
diesel::joinable!(message_threads -> conversations (conversation_id));
diesel::joinable!(message_threads -> messages (root_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(messages -> users (sender_id));
diesel::joinable!(mfa_challenges -> users (user_id));
diesel::joinable!(mfa_recovery_codes -> users (user_id));
diesel::joinable!(notification_settings -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(oidc_exchange_codes -> users (user_id));
diesel::joinable!(project_labels -> projects (project_id));
diesel::joinable!(project_members -> projects (project_id));
diesel::joinable!(project_members -> users (user_id));
diesel::joinable!(projects -> users (owner_id));
diesel::joinable!(push_subscriptions -> users (user_id));
diesel::joinable!(refresh_tokens -> users (user_id));
diesel::joinable!(saved_messages -> messages (message_id));
diesel::joinable!(saved_messages -> users (user_id));
diesel::joinable!(scheduled_messages -> conversations (conversation_id));
diesel::joinable!(scheduled_messages -> messages (thread_root_id));
diesel::joinable!(scheduled_messages -> users (sender_id));
diesel::joinable!(task_activity -> tasks (task_id));
diesel::joinable!(task_activity -> users (actor_id));
diesel::joinable!(task_comments -> tasks (task_id));
diesel::joinable!(task_comments -> users (author_id));
diesel::joinable!(task_due_reminders -> tasks (task_id));
diesel::joinable!(task_labels -> project_labels (label_id));
diesel::joinable!(task_labels -> tasks (task_id));
diesel::joinable!(task_watchers -> tasks (task_id));
diesel::joinable!(task_watchers -> users (user_id));
diesel::joinable!(tasks -> projects (project_id));
diesel::joinable!(thread_followers -> messages (root_id));
diesel::joinable!(thread_followers -> users (user_id));
diesel::joinable!(user_identities -> users (user_id));
diesel::joinable!(user_totp -> users (user_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_delivery_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_endpoints -> conversations (conversation_id));
diesel::joinable!(webhook_endpoints -> projects (project_id));
diesel::joinable!(webhook_endpoints -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    account_email_tokens,
    audit_log,
    auth_sessions,
    calendar_event_attendees,
    calendar_event_overrides,
    calendar_event_reminders,
    calendar_events,
    calendar_feeds,
    conversation_members,
    conversations,
    incoming_webhooks,
    jobs,
    message_attachments,
    message_mentions,
    message_edits,
    message_pins,
    message_reactions,
    message_reminders,
    message_threads,
    messages,
    mfa_challenges,
    mfa_recovery_codes,
    notification_settings,
    notifications,
    oidc_exchange_codes,
    oidc_states,
    outbox,
    outbox_positions,
    personal_access_tokens,
    project_labels,
    project_members,
    projects,
    push_subscriptions,
    refresh_tokens,
    saved_messages,
    scheduled_messages,
    settings,
    task_activity,
    task_comments,
    task_due_reminders,
    task_labels,
    task_watchers,
    tasks,
    thread_followers,
    user_identities,
    user_totp,
    users,
    webhook_deliveries,
    webhook_delivery_attempts,
    webhook_endpoints,
);
