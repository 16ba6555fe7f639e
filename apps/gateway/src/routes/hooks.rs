//! # POST /hooks/{token}
//!
//! The secret URL of an incoming webhook (`docs/api.md`, Incoming webhooks): it takes Slack's
//! `{"text": "..."}` and posts it into the hook's conversation as the hook's bot user. No bearer token: the URL
//! is the credential (and, for a hook created with `verify_signatures`, a Standard Webhooks signature).

use crate::error::{ApiError, Problem};
use crate::extract::{json_bytes, parse_json};
use crate::rate_limit::Quota;
use crate::routes::required;
use crate::state::AppState;
use actix_web::{HttpRequest, post, web};
use epop_chat::Sent;
use epop_chat::incoming_webhooks::{SignatureError, SignatureHeaders, verify_signature};
use epop_core::ErrorCode;
use epop_core::MessageId;
use serde::{Deserialize, Serialize};

/// What a hook accepts: Slack's incoming webhook shape. Only `text` is used; other members (`username`,
/// `icon_emoji`, `blocks`, …) are accepted and ignored.
#[derive(Debug, Deserialize, garde::Validate, utoipa::ToSchema)]
pub struct HookMessage {
    /// The message text, 1..=10,000 characters (mentions such as `<@USER_ID>` work as in any message).
    #[garde(required, length(chars, min = 1, max = 10000))]
    #[schema(min_length = 1, max_length = 10000)]
    pub text: Option<String>,
}

/// What a hook answers.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HookPosted {
    /// Always `true`.
    pub ok: bool,
    /// The message posted (or, for a signed request whose `webhook-id` was seen before, the one posted then).
    #[schema(value_type = uuid::Uuid)]
    pub message_id: MessageId,
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|value| value.to_str().ok())
}

/// Posts `text` into the hook's conversation as its bot user, with the events of any message
/// (`message:new` to the members' sockets, notifications, mentions). An unknown or deleted hook's URL is
/// `404`. A hook created with `verify_signatures` needs the Standard Webhooks headers `webhook-id`,
/// `webhook-timestamp` (within five minutes) and `webhook-signature` (`v1,<base64 HMAC-SHA256>`; `401`
/// otherwise), and a repeated `webhook-id` posts nothing new. At most `EPOP_INCOMING_WEBHOOK_RATE_LIMIT`
/// messages per hook per minute (`429`).
#[utoipa::path(tag = "chat", params(("token" = String, Path, description = "The hook URL's secret token")),
    request_body = HookMessage,
    responses(
        (status = 200, body = HookPosted),
        (status = 400, description = "Not JSON", body = Problem),
        (status = 401, description = "A signed hook's signature headers are missing, stale or wrong", body = Problem),
        (status = 404, description = "No hook has this URL", body = Problem),
        (status = 413, body = Problem),
        (status = 415, body = Problem),
        (status = 422, description = "Missing or bad `text`", body = Problem),
        (status = 429, description = "The hook posted as often as allowed this minute", body = Problem),
    ))]
#[post("/hooks/{token}")]
pub(crate) async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<web::Json<HookPosted>, ApiError> {
    let credentials = state.chat.incoming_webhook_by_token(&token).await?;
    let hook = &credentials.hook;
    let quota = Quota::per_minute(state.config.incoming_webhook_per_minute);
    if let Err(limited) = state
        .limiter
        .check("incoming-webhook", &hook.id.to_string(), quota)
        .await
    {
        return Err(ApiError::rate_limited(limited.retry_after_secs()));
    }
    let body = json_bytes(&req, payload.into_inner(), false)
        .await?
        .unwrap_or_default();
    let client_id = match &credentials.signing_secret {
        Some(secret) => {
            let headers = SignatureHeaders {
                id: header(&req, "webhook-id"),
                timestamp: header(&req, "webhook-timestamp"),
                signature: header(&req, "webhook-signature"),
            };
            let id = verify_signature(secret, headers, &body, chrono::Utc::now()).map_err(refused)?;
            Some(id.to_owned())
        }
        None => None,
    };
    let message: HookMessage = parse_json(&body)?;
    let text = required(message.text, "text")?;
    let (Sent::Created(message) | Sent::Existing(message)) = state
        .chat
        .post_incoming(hook, &text, client_id.as_deref())
        .await?;
    Ok(web::Json(HookPosted {
        ok: true,
        message_id: message.id,
    }))
}

fn refused(error: SignatureError) -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, error.to_string())
}
