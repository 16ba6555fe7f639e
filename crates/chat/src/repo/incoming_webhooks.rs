//! `incoming_webhooks`: secret URLs that post into a conversation as their bot user.

use crate::error::ChatResult;
use chrono::{DateTime, Utc};
use diesel::{
    ExpressionMethods as _, Insertable, OptionalExtension as _, QueryDsl as _, Queryable, Selectable,
    SelectableHelper as _,
};
use diesel_async::{AsyncPgConnection, RunQueryDsl as _};
use epop_core::{ConversationId, IncomingWebhookId, UserId};
use epop_storage::schema::incoming_webhooks as hooks;

/// A row of `incoming_webhooks` (without the token's hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = hooks, check_for_backend(diesel::pg::Pg))]
pub(crate) struct HookRow {
    pub(crate) id: IncomingWebhookId,
    pub(crate) conversation_id: ConversationId,
    pub(crate) bot_user_id: UserId,
    pub(crate) created_by: Option<UserId>,
    pub(crate) name: String,
    pub(crate) signing_secret: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
}

/// A new row of `incoming_webhooks`.
#[derive(Debug, Insertable)]
#[diesel(table_name = hooks)]
pub(crate) struct NewHookRow<'a> {
    pub(crate) id: IncomingWebhookId,
    pub(crate) conversation_id: ConversationId,
    pub(crate) bot_user_id: UserId,
    pub(crate) created_by: Option<UserId>,
    pub(crate) name: &'a str,
    pub(crate) token_hash: &'a [u8],
    pub(crate) signing_secret: Option<&'a str>,
}

/// Inserts a hook.
pub(crate) async fn insert(conn: &mut AsyncPgConnection, row: NewHookRow<'_>) -> ChatResult<HookRow> {
    Ok(diesel::insert_into(hooks::table)
        .values(&row)
        .returning(HookRow::as_returning())
        .get_result(conn)
        .await?)
}

/// How many hooks the conversation has.
pub(crate) async fn count(conn: &mut AsyncPgConnection, conversation: ConversationId) -> ChatResult<i64> {
    Ok(hooks::table
        .filter(hooks::conversation_id.eq(conversation))
        .count()
        .get_result(conn)
        .await?)
}

/// Up to `limit + 1` of the conversation's hooks, oldest first, after `after`.
pub(crate) async fn page(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    after: Option<IncomingWebhookId>,
    limit: i64,
) -> ChatResult<Vec<HookRow>> {
    let mut query = hooks::table
        .filter(hooks::conversation_id.eq(conversation))
        .select(HookRow::as_select())
        .order(hooks::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(hooks::id.gt(after));
    }
    Ok(query.load(conn).await?)
}

/// Deletes the conversation's hook `id`; returns it when there was one.
pub(crate) async fn delete(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    id: IncomingWebhookId,
) -> ChatResult<Option<HookRow>> {
    Ok(diesel::delete(
        hooks::table
            .filter(hooks::id.eq(id))
            .filter(hooks::conversation_id.eq(conversation)),
    )
    .returning(HookRow::as_returning())
    .get_result(conn)
    .await
    .optional()?)
}

/// The hook whose token hashes to `hash`.
pub(crate) async fn find_by_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> ChatResult<Option<HookRow>> {
    Ok(hooks::table
        .filter(hooks::token_hash.eq(hash))
        .select(HookRow::as_select())
        .first(conn)
        .await
        .optional()?)
}
