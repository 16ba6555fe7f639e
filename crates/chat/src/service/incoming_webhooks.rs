//! Incoming webhooks (see [`crate::incoming_webhooks`] for the design).

use super::{ChatService, decode};
use crate::error::{ChatError, ChatResult};
use crate::incoming_webhooks::{
    CreatedIncomingWebhook, HookCredentials, IncomingWebhook, new_signing_secret, new_token, token_hash,
};
use crate::model::{ConversationKind, Sent};
use crate::repo::conversations as convs;
use crate::repo::incoming_webhooks::{self as hooks, HookRow, NewHookRow};
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use epop_core::{ConversationId, DomainEvent, IncomingWebhookId, Page, PageRequest, UserId};
use epop_storage::audit::{self, AuditAction, AuditEntry, AuditTarget};
use epop_storage::outbox;

impl HookRow {
    fn into_hook(self) -> (IncomingWebhook, Option<String>) {
        (
            IncomingWebhook {
                id: self.id,
                conversation_id: self.conversation_id,
                bot_user_id: self.bot_user_id,
                name: self.name,
                created_by: self.created_by,
                verify_signatures: self.signing_secret.is_some(),
                created_at: self.created_at,
            },
            self.signing_secret,
        )
    }
}

fn random_failure(error: getrandom::Error) -> ChatError {
    ChatError::Randomness(error.to_string())
}

impl ChatService {
    /// Creates an incoming webhook in the group `conversation` (any member may), posting as `bot` (a bot user
    /// the caller created for it, made a member here). `NotFound` for a non-member, `Conflict` for a direct
    /// conversation, `LimitReached` past `max_incoming_webhooks`.
    #[tracing::instrument(skip(self, ip))]
    pub async fn create_incoming_webhook(
        &self,
        me: UserId,
        conversation: ConversationId,
        bot: UserId,
        name: &str,
        verify_signatures: bool,
        ip: Option<&str>,
    ) -> ChatResult<CreatedIncomingWebhook> {
        let (token, hash) = new_token().map_err(random_failure)?;
        let signing_secret = verify_signatures
            .then(new_signing_secret)
            .transpose()
            .map_err(random_failure)?;
        let limit = self.settings.max_incoming_webhooks;
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        let row = conn
            .transaction::<_, ChatError, _>(async |conn| {
                let found = convs::find_for_member(conn, conversation, me)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                if ConversationKind::from_stored(&found.kind) == ConversationKind::Direct {
                    return Err(ChatError::Conflict(
                        "incoming webhooks post into groups only, not direct conversations",
                    ));
                }
                let last_seq = convs::lock(conn, conversation)
                    .await?
                    .ok_or(ChatError::NotFound)?;
                let held = u64::try_from(hooks::count(conn, conversation).await?).unwrap_or(u64::MAX);
                if limit > 0 && held >= limit {
                    return Err(ChatError::LimitReached {
                        what: "incoming webhooks per conversation",
                        limit,
                    });
                }
                let row = hooks::insert(
                    conn,
                    NewHookRow {
                        id: IncomingWebhookId::new(),
                        conversation_id: conversation,
                        bot_user_id: bot,
                        created_by: Some(me),
                        name,
                        token_hash: &hash,
                        signing_secret: signing_secret.as_deref(),
                    },
                )
                .await?;
                convs::add_members(conn, conversation, &[bot], last_seq).await?;
                members_changed(conn, conversation, vec![bot], vec![]).await?;
                audit::append(
                    conn,
                    &AuditEntry::new(Some(me), AuditAction::IncomingWebhookCreated, ip)
                        .on(AuditTarget::IncomingWebhook(row.id))
                        .with(serde_json::json!({
                            "conversation_id": conversation,
                            "name": row.name,
                            "bot_user_id": bot,
                            "verify_signatures": verify_signatures,
                        })),
                    now,
                )
                .await?;
                Ok(row)
            })
            .await?;
        self.notifier.notify();
        Ok(CreatedIncomingWebhook {
            hook: row.into_hook().0,
            token,
            signing_secret,
        })
    }

    /// The conversation's incoming webhooks, oldest first (members only; `NotFound` otherwise).
    pub async fn incoming_webhooks(
        &self,
        me: UserId,
        conversation: ConversationId,
        page: &PageRequest,
    ) -> ChatResult<Page<IncomingWebhook>> {
        let after = page
            .cursor
            .as_ref()
            .map(|cursor| decode::<IncomingWebhookId>(&cursor.0))
            .transpose()?;
        let mut conn = self.pool.get().await?;
        if convs::find_for_member(&mut conn, conversation, me)
            .await?
            .is_none()
        {
            return Err(ChatError::NotFound);
        }
        let rows = hooks::page(&mut conn, conversation, after, i64::from(page.limit)).await?;
        Ok(Page::from_overfetch(rows, page.limit, |row| row.id).map(|row| row.into_hook().0))
    }

    /// Deletes an incoming webhook of the conversation (any member may): its URL stops working at once and its
    /// bot leaves the conversation (its messages stay). `NotFound` for a non-member or an unknown hook.
    #[tracing::instrument(skip(self, ip))]
    pub async fn delete_incoming_webhook(
        &self,
        me: UserId,
        conversation: ConversationId,
        id: IncomingWebhookId,
        ip: Option<&str>,
    ) -> ChatResult<()> {
        let now = self.clock.now();
        let mut conn = self.pool.get().await?;
        conn.transaction::<_, ChatError, _>(async |conn| {
            if convs::find_for_member(conn, conversation, me).await?.is_none() {
                return Err(ChatError::NotFound);
            }
            convs::lock(conn, conversation)
                .await?
                .ok_or(ChatError::NotFound)?;
            let row = hooks::delete(conn, conversation, id)
                .await?
                .ok_or(ChatError::NotFound)?;
            if convs::remove_member(conn, conversation, row.bot_user_id).await? {
                members_changed(conn, conversation, vec![], vec![row.bot_user_id]).await?;
            }
            audit::append(
                conn,
                &AuditEntry::new(Some(me), AuditAction::IncomingWebhookDeleted, ip)
                    .on(AuditTarget::IncomingWebhook(id))
                    .with(serde_json::json!({"conversation_id": conversation, "name": row.name})),
                now,
            )
            .await?;
            Ok(())
        })
        .await?;
        self.notifier.notify();
        Ok(())
    }

    /// The hook whose URL token is `token` (`NotFound` for none).
    pub async fn incoming_webhook_by_token(&self, token: &str) -> ChatResult<HookCredentials> {
        let mut conn = self.pool.get().await?;
        let row = hooks::find_by_hash(&mut conn, &token_hash(token))
            .await?
            .ok_or(ChatError::NotFound)?;
        let (hook, signing_secret) = row.into_hook();
        Ok(HookCredentials { hook, signing_secret })
    }

    /// Posts `text` into the hook's conversation as its bot, through the same path (rules and events) as any
    /// message; `client_id` (a signed request's `webhook-id`) makes a redelivery post nothing new.
    pub async fn post_incoming(
        &self,
        hook: &IncomingWebhook,
        text: &str,
        client_id: Option<&str>,
    ) -> ChatResult<Sent> {
        self.send(
            hook.bot_user_id,
            hook.conversation_id,
            text,
            client_id,
            &[],
            None,
            None,
        )
        .await
    }
}

/// Records a change of the conversation's members (the event every member's client follows).
async fn members_changed(
    conn: &mut AsyncPgConnection,
    conversation: ConversationId,
    added: Vec<UserId>,
    removed: Vec<UserId>,
) -> ChatResult<()> {
    let member_ids = convs::member_ids(conn, conversation).await?.into_iter().collect();
    outbox::append(
        conn,
        &DomainEvent::ConversationMembersChanged {
            conversation_id: conversation,
            added,
            removed,
            member_ids,
        },
    )
    .await?;
    Ok(())
}
