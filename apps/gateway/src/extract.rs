//! Request extractors that answer the contract's way: problem+json with `400` for malformed JSON, `415` for a
//! body that is not JSON, `413` past the size limit, `422` listing every failing field, `404` for a malformed
//! path id, `401` with `WWW-Authenticate: Bearer` for missing or bad tokens.

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage as _, HttpRequest, web};
use epop_auth::{AccessClaims, Role};
use epop_core::{Cursor, ErrorCode, FieldError, PageRequest, UserId};
use futures_util::StreamExt as _;
use serde::de::DeserializeOwned;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

/// Largest JSON body accepted, in bytes.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

type LocalBoxFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// A JSON body, deserialized and validated with garde. Required: an empty body is `400`.
#[derive(Debug)]
pub struct Json<T>(pub T);

/// A JSON body that may be absent: an empty body (with or without `Content-Type`) is `None`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub Option<T>);

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn read_body(req: &HttpRequest, mut payload: Payload) -> Result<web::BytesMut, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!("the body is larger than {MAX_JSON_BYTES} bytes"),
        )
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_JSON_BYTES) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the body could not be read: {e}")))?;
        if body.len() + chunk.len() > MAX_JSON_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Every string in `value` containing NUL, by path.
fn nul_fields(value: &serde_json::Value, path: &mut String, found: &mut Vec<FieldError>) {
    match value {
        serde_json::Value::String(s) if s.contains('\0') => {
            found.push(FieldError::new(path.clone(), "must not contain NUL characters"));
        }
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                nul_fields(item, path, found);
                path.truncate(len);
            }
        }
        serde_json::Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                nul_fields(item, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

/// Turns a garde report into field errors. Request types name their fields as the wire does (a keyword is a
/// raw identifier, `r#type`, which serde already reads as `type`); garde spells the path with the `r#`, which
/// is dropped here so that a problem names the request's own field.
pub fn report_errors(report: &garde::Report) -> Vec<FieldError> {
    report
        .iter()
        .map(|(path, error)| {
            let field = path
                .to_string()
                .split('.')
                .map(|segment| segment.strip_prefix("r#").unwrap_or(segment))
                .collect::<Vec<_>>()
                .join(".");
            FieldError::new(
                if field.is_empty() {
                    "body".to_owned()
                } else {
                    field
                },
                error.message().to_string(),
            )
        })
        .collect()
}

/// Most fields one body or query string reports as unparsable; past it the answer lists the ones found.
const MAX_TYPE_ERRORS: usize = 32;

/// The request field a deserialization error names (`body` for the body as a whole).
fn error_field(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." { "body".to_owned() } else { path }
}

/// Removes the value at `path` from `value`, so parsing can go on past it. Only object members can be removed
/// (dropping an array element would shift the paths of the ones after it); returns whether it removed one.
fn remove_at(value: &mut serde_json::Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((Segment::Map { key }, parents)) = segments.split_last() else {
        return false;
    };
    let mut parent = value;
    for segment in parents {
        let next = match (segment, parent) {
            (Segment::Map { key }, serde_json::Value::Object(map)) => map.get_mut(key.as_str()),
            (Segment::Seq { index }, serde_json::Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(next) = next else {
            return false;
        };
        parent = next;
    }
    match parent {
        serde_json::Value::Object(map) => map.remove(key.as_str()).is_some(),
        _ => false,
    }
}

/// Deserializes `value` into `T`, collecting every field with the wrong type or format rather than stopping at
/// the first: each failing member is reported and removed, and parsing starts again without it. Returns the
/// value parsed from what remained (absent when the remainder still does not parse) and the errors.
fn deserialize_every_field<T: DeserializeOwned>(
    mut value: serde_json::Value,
) -> (Option<T>, Vec<FieldError>) {
    let mut errors = Vec::new();
    loop {
        match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(parsed) => return (Some(parsed), errors),
            Err(error) => {
                errors.push(FieldError::new(
                    error_field(error.path()),
                    error.inner().to_string(),
                ));
                if errors.len() >= MAX_TYPE_ERRORS || !remove_at(&mut value, error.path()) {
                    return (None, errors);
                }
            }
        }
    }
}

/// Adds garde's findings to `errors`, except for fields that already have one (a field that failed to parse
/// is absent from the parsed value, and garde would only add that it is required).
fn add_rule_errors(errors: &mut Vec<FieldError>, parsed: &impl garde::Validate<Context = ()>) {
    if let Err(report) = parsed.validate() {
        for error in report_errors(&report) {
            if !errors.iter().any(|e| e.field == error.field) {
                errors.push(error);
            }
        }
    }
}

/// Parses `bytes` as JSON into `T` and validates it. A `422` lists every failing field: NUL characters, wrong
/// types or formats, and garde's rules on the rest.
pub fn parse_json<T>(bytes: &[u8]) -> Result<T, ApiError>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    // Fast path for the body that is fine, as nearly all are: one parse straight into `T`. A NUL can only
    // reach a JSON string escaped as `\u0000` (raw control characters are invalid JSON), so a body without that
    // text has none. Anything else takes the full path below, which finds every failing field.
    if memchr::memmem::find(bytes, br"\u0000").is_none()
        && let Ok(parsed) = serde_json::from_slice::<T>(bytes)
        && parsed.validate().is_ok()
    {
        return Ok(parsed);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(ErrorCode::BadRequest, format!("the body is not valid JSON: {e}")))?;
    parse_value(value)
}

/// Parses an already decoded JSON value into `T` and validates it by the same rules as a body (a socket
/// event's payload, say): a `validation_failed` error lists every failing field.
pub fn parse_value<T>(value: serde_json::Value) -> Result<T, ApiError>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    let mut errors = Vec::new();
    nul_fields(&value, &mut String::new(), &mut errors);
    let (parsed, type_errors) = deserialize_every_field::<T>(value);
    for error in type_errors {
        if !errors.iter().any(|e| e.field == error.field) {
            errors.push(error);
        }
    }
    if let Some(parsed) = &parsed {
        add_rule_errors(&mut errors, parsed);
    }
    match parsed {
        Some(parsed) if errors.is_empty() => Ok(parsed),
        _ => Err(ApiError::validation(errors)),
    }
}

async fn json_body<T>(req: HttpRequest, payload: Payload, optional: bool) -> Result<Option<T>, ApiError>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    match json_bytes(&req, payload, optional).await? {
        Some(body) => parse_json(&body).map(Some),
        None => Ok(None),
    }
}

/// The bytes of a JSON body, unparsed (for a signature over them), by the rules of [`Json`]: an empty body is
/// `400` (`None` when `optional`), another media type `415`, past the size limit `413`.
pub async fn json_bytes(
    req: &HttpRequest,
    payload: Payload,
    optional: bool,
) -> Result<Option<web::BytesMut>, ApiError> {
    let body = read_body(req, payload).await?;
    if body.is_empty() {
        if optional {
            return Ok(None);
        }
        if !is_json(req) && req.headers().contains_key(header::CONTENT_TYPE) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "the body must be application/json",
            ));
        }
        return Err(ApiError::new(ErrorCode::BadRequest, "a JSON body is required"));
    }
    if !is_json(req) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "the body must be application/json",
        ));
    }
    Ok(Some(body))
}

impl<T> FromRequest for Json<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()> + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            json_body(req, payload, false)
                .await?
                .map(Json)
                .ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "a JSON body is required"))
        })
    }
}

impl<T> FromRequest for OptionalJson<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()> + 'static,
{
    type Error = ApiError;
    type Future = LocalBoxFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move { json_body(req, payload, true).await.map(OptionalJson) })
    }
}

/// Query parameters, deserialized (a wrong type is `422` naming the parameter) and validated.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> FromRequest for Query<T>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(parse_query(req.query_string()).map(Query))
    }
}

/// Parses and validates a query string. Like a body, a `422` lists every failing parameter: each one that does
/// not parse is reported and left out, and parsing starts again without it.
pub fn parse_query<T>(query: &str) -> Result<T, ApiError>
where
    T: DeserializeOwned + garde::Validate<Context = ()>,
{
    let nul: Vec<FieldError> = form_urlencoded::parse(query.as_bytes())
        .filter(|(_, value)| value.contains('\0'))
        .map(|(key, _)| FieldError::new(key.into_owned(), "must not contain NUL characters"))
        .collect();
    if !nul.is_empty() {
        return Err(ApiError::validation(nul));
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let mut errors = Vec::new();
    let parsed = loop {
        let remaining = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(remaining.as_bytes()));
        match serde_path_to_error::deserialize::<_, T>(deserializer) {
            Ok(parsed) => break Some(parsed),
            Err(error) => {
                let field = error_field(error.path());
                errors.push(FieldError::new(field.clone(), error.inner().to_string()));
                let before = pairs.len();
                pairs.retain(|(key, _)| *key != field);
                if errors.len() >= MAX_TYPE_ERRORS || pairs.len() == before {
                    break None;
                }
            }
        }
    };
    if let Some(parsed) = &parsed {
        add_rule_errors(&mut errors, parsed);
    }
    match parsed {
        Some(parsed) if errors.is_empty() => Ok(parsed),
        _ => Err(ApiError::validation(errors)),
    }
}

/// Converts validated `limit`/`cursor` query values into a [`PageRequest`].
pub fn page_request(limit: Option<u16>, cursor: Option<String>) -> PageRequest {
    PageRequest {
        limit: limit.unwrap_or(epop_core::page::DEFAULT_LIMIT),
        cursor: cursor.filter(|c| !c.is_empty()).map(Cursor),
    }
}

/// The verified access token of the request, put in the request extensions by the API middleware.
#[derive(Debug, Clone)]
pub struct Authenticated(pub AccessClaims);

/// The signed-in caller. Missing or invalid tokens are `401` with `WWW-Authenticate: Bearer`.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    /// The caller's id.
    pub id: UserId,
    /// The caller's global role when the token was issued.
    pub role: Role,
    /// The session (refresh token family) the token belongs to; `None` for tokens issued before sessions were
    /// recorded.
    pub session: Option<epop_core::TokenFamilyId>,
}

/// The bearer token of a request, if it has one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let verified = req.extensions().get::<Authenticated>().map(|a| a.0.clone());
        // Outside the `/api` guard (which authenticated already), the same check: signature, expiry, and a
        // session that was not ended.
        let token = bearer_token(req).map(str::to_owned);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        Box::pin(async move {
            let claims = match (verified, token, state) {
                (Some(claims), _, _) => claims,
                (None, Some(token), Some(state)) => {
                    let claims = state.auth.authenticate(&token).await?;
                    // Outside `/api` no route is in the scope table: access tokens are refused.
                    if claims.grant.is_some() {
                        return Err(ApiError::new(
                            ErrorCode::Forbidden,
                            "this route does not accept access tokens",
                        ));
                    }
                    claims
                }
                _ => return Err(ApiError::unauthorized()),
            };
            Ok(AuthUser {
                id: claims.sub,
                role: claims.role,
                session: claims.sid,
            })
        })
    }
}

/// The client's IP address (the peer, or the `X-Forwarded-For` entry a trusted proxy vouches for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// The key rate limits count this client under: the IPv4 address, or the /64 network of an IPv6 address
    /// (one subscriber's allocation: a client rotating through its addresses still counts once).
    pub fn limit_key(&self) -> String {
        match self.0 {
            IpAddr::V4(v4) => v4.to_string(),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let [a, b, c, d, ..] = v6.segments();
                    format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
                }
            },
        }
    }
}

impl FromRequest for ClientIp {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ip = req.extensions().get::<ClientIp>().copied().or_else(|| {
            let trusted = req
                .app_data::<web::Data<AppState>>()
                .map(|s| s.config.trusted_proxies.clone())
                .unwrap_or_default();
            client_ip(req, &trusted).map(ClientIp)
        });
        std::future::ready(
            ip.ok_or_else(|| ApiError::new(ErrorCode::BadRequest, "the client address is unknown")),
        )
    }
}

/// Works out the client IP: walks `X-Forwarded-For` from the right while the hop is a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[ipnet::IpNet]) -> Option<IpAddr> {
    epop_socketio::client_address(req.peer_addr()?.ip(), req.headers(), trusted)
}

#[cfg(test)]
mod limit_key_tests {
    use super::ClientIp;

    #[test]
    fn ipv6_clients_are_limited_per_64_and_ipv4_per_address() {
        let key = |ip: &str| ClientIp(ip.parse().unwrap()).limit_key();
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:ffff:1:2:3"), key("2001:db8:1:2::1"));
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Sample {
        #[garde(required, length(chars, min = 1, max = 3))]
        name: Option<String>,
        #[garde(required)]
        age: Option<u8>,
        #[garde(dive)]
        #[serde(default)]
        tags: Vec<Tag>,
    }

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Tag {
        #[garde(length(chars, min = 1))]
        label: String,
    }

    #[test]
    fn missing_fields_are_all_listed() {
        let error = parse_json::<Sample>(b"{}").unwrap_err();
        assert_eq!(error.code, ErrorCode::ValidationFailed);
        let mut fields: Vec<_> = error.errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort_unstable();
        assert_eq!(fields, vec!["age", "name"]);
    }

    #[test]
    fn wrong_types_name_the_field_with_a_dotted_path() {
        let error =
            parse_json::<Sample>(br#"{"name":"a","age":1,"tags":[{"label":"x"},{"label":5}]}"#).unwrap_err();
        assert_eq!(error.errors[0].field, "tags[1].label");
        let error = parse_json::<Sample>(br#"{"name":"a","age":"old"}"#).unwrap_err();
        assert_eq!(error.errors[0].field, "age");
    }

    #[test]
    fn lengths_count_characters_and_nul_is_rejected() {
        assert!(parse_json::<Sample>("{\"name\":\"日本語\",\"age\":1}".as_bytes()).is_ok());
        let error = parse_json::<Sample>(br#"{"name":"a\u0000","age":1}"#).unwrap_err();
        assert_eq!(error.errors[0].field, "name");
        let error = parse_json::<Sample>(br#"{"name":"a","age":1,"tags":[{"label":""}]}"#).unwrap_err();
        assert_eq!(error.errors[0].field, "tags[0].label");
    }

    #[test]
    fn the_text_of_an_escaped_nul_is_not_a_nul() {
        // `\\u0000` is a backslash followed by "u0000": the fast path steps aside, the full path accepts it.
        let parsed = parse_json::<Sample>(br#"{"name":"a","age":1,"tags":[{"label":"\\u0000"}]}"#).unwrap();
        assert_eq!(parsed.tags[0].label, "\\u0000");
        // A NUL deep in an otherwise valid body still names its field.
        let error = parse_json::<Sample>(br#"{"name":"a","age":1,"tags":[{"label":"\u0000"}]}"#).unwrap_err();
        assert_eq!(error.errors[0].field, "tags[0].label");
    }

    #[test]
    fn malformed_json_is_bad_request() {
        assert_eq!(
            parse_json::<Sample>(b"{\"name\":").unwrap_err().code,
            ErrorCode::BadRequest
        );
    }

    #[derive(Debug, Deserialize, garde::Validate)]
    struct Paging {
        #[garde(range(min = 1, max = 100))]
        limit: Option<u16>,
        #[garde(skip)]
        cursor: Option<String>,
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let error = parse_query::<Paging>("limit=abc").unwrap_err();
        assert_eq!(
            (error.code, error.errors[0].field.as_str()),
            (ErrorCode::ValidationFailed, "limit")
        );
        let error = parse_query::<Paging>("limit=0").unwrap_err();
        assert_eq!(error.errors[0].field, "limit");
        let nul = parse_query::<Paging>("cursor=a%00b").unwrap_err();
        assert_eq!(
            (nul.code, nul.errors[0].field.as_str()),
            (ErrorCode::ValidationFailed, "cursor")
        );
        let ok = parse_query::<Paging>("limit=5&cursor=abc&unknown=1").unwrap();
        assert_eq!((ok.limit, ok.cursor.as_deref()), (Some(5), Some("abc")));
    }
}

/// A global `admin` caller (`AuthUser` with the role `admin`). Anyone else gets `404`, as if the admin API did
/// not exist; no token is `401`. The role is the token's: changing a user's role ends their sessions, so a
/// token's role is the current one.
#[derive(Debug, Clone, Copy)]
pub struct GlobalAdmin(pub AuthUser);

impl FromRequest for GlobalAdmin {
    type Error = ApiError;
    type Future = LocalBoxFuture<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AuthUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            if user.role != Role::Admin {
                return Err(ApiError::not_found());
            }
            Ok(GlobalAdmin(user))
        })
    }
}

/// Where the request comes from, for the audit log and the sessions list: the client's IP address and its
/// `User-Agent`.
#[derive(Debug, Clone)]
pub struct RequestClient(pub epop_auth::ClientInfo);

impl FromRequest for RequestClient {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let ip = ClientIp::from_request(req, payload)
            .into_inner()
            .ok()
            .map(|ip| ip.0.to_string());
        let agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok());
        std::future::ready(Ok(RequestClient(epop_auth::ClientInfo::new(ip, agent))))
    }
}
