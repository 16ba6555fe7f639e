//! The one request client of the integration tests: `app.as_user(&ann).post(path, body).await` sends a request
//! as Ann, and the answer is read as the API promises it ([`Answer::json`] for a status and a JSON body,
//! [`Answer::problem`] for an RFC 9457 problem with its code, a title, and a field and message per failing
//! field), so a test reads like the API reference. `app.anonymous()` sends without a token (sign-up, sign-in,
//! health), and [`Caller::header`] adds what a request needs beyond a JSON body (a cookie, `If-Match`, a client
//! address).

use crate::helpers::{TestApp, TestUser};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who a request is sent as (the bearer token it carries, if any) and the extra headers it adds.
#[derive(Clone)]
pub(crate) struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
    headers: Vec<(String, String)>,
}

impl TestApp {
    /// Requests sent with `user`'s access token.
    pub(crate) fn as_user(&self, user: &TestUser) -> Caller<'_> {
        self.as_token(&user.access_token)
    }

    /// Requests sent with `token` as the bearer token (an API token, a forged or an expired one).
    pub(crate) fn as_token(&self, token: &str) -> Caller<'_> {
        Caller {
            app: self,
            token: Some(token.to_owned()),
            headers: Vec::new(),
        }
    }

    /// Requests sent without a bearer token: the public routes, or a check that a route needs one.
    pub(crate) fn anonymous(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: None,
            headers: Vec::new(),
        }
    }
}

impl Caller<'_> {
    /// The same caller adding header `name: value` to its requests.
    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Sends `method path` with `body` as JSON (none: no body) and reads the whole answer.
    pub(crate) async fn send(self, method: Method, path: impl AsRef<str>, body: Option<Value>) -> Answer {
        let mut request = self.request(method, path.as_ref());
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::answer(request).await
    }

    /// Posts `body` as it is, not encoded as JSON, with `content_type` if one is given: what a broken or a
    /// foreign client sends.
    pub(crate) async fn post_raw(
        self,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self.request(Method::POST, path).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        Self::answer(request).await
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut request = self.app.request(method, path);
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }

    async fn answer(request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request reaches the gateway");
        Answer::read(response).await
    }

    pub(crate) async fn get(self, path: impl AsRef<str>) -> Answer {
        self.send(Method::GET, path, None).await
    }

    /// GETs `path`, which must answer `200`, and returns the JSON body: what the caller sees there.
    pub(crate) async fn get_ok(self, path: impl AsRef<str>) -> Value {
        self.get(path).await.json(StatusCode::OK)
    }

    pub(crate) async fn post(self, path: impl AsRef<str>, body: impl Serialize) -> Answer {
        self.send(Method::POST, path, Some(as_json(body))).await
    }

    /// POSTs `body`, which must answer `201 Created`, and returns what was created.
    pub(crate) async fn post_created(self, path: impl AsRef<str>, body: impl Serialize) -> Value {
        self.post(path, body).await.json(StatusCode::CREATED)
    }

    /// POSTs `body`, which must answer `200`, and returns the JSON body.
    pub(crate) async fn post_ok(self, path: impl AsRef<str>, body: impl Serialize) -> Value {
        self.post(path, body).await.json(StatusCode::OK)
    }

    /// PUTs `body`, which must answer `200`, and returns the JSON body (the resource as it is now).
    pub(crate) async fn put_ok(self, path: impl AsRef<str>, body: impl Serialize) -> Value {
        self.put(path, body).await.json(StatusCode::OK)
    }

    pub(crate) async fn put(self, path: impl AsRef<str>, body: impl Serialize) -> Answer {
        self.send(Method::PUT, path, Some(as_json(body))).await
    }

    /// PUTs `path` without a body: the routes where the path says it all (pin, follow).
    pub(crate) async fn put_empty(self, path: impl AsRef<str>) -> Answer {
        self.send(Method::PUT, path, None).await
    }

    pub(crate) async fn patch(self, path: impl AsRef<str>, body: impl Serialize) -> Answer {
        self.send(Method::PATCH, path, Some(as_json(body))).await
    }

    /// PATCHes `body`, which must answer `200`, and returns the JSON body (the resource as it is now).
    pub(crate) async fn patch_ok(self, path: impl AsRef<str>, body: impl Serialize) -> Value {
        self.patch(path, body).await.json(StatusCode::OK)
    }

    /// DELETEs `path`, which must answer an empty `204 No Content`.
    pub(crate) async fn delete_ok(self, path: impl AsRef<str>) {
        self.delete(path).await.empty(StatusCode::NO_CONTENT);
    }

    pub(crate) async fn delete(self, path: impl AsRef<str>) -> Answer {
        self.send(Method::DELETE, path, None).await
    }
}

impl Caller<'_> {
    /// Sends each of `calls` in turn and asserts that every one is refused with `status` and `code` (see
    /// [`Answer::problem`]): one table for a family of requests the API refuses alike, whose failure names the
    /// request that was not refused.
    pub(crate) async fn all_refused(
        &self,
        status: StatusCode,
        code: &str,
        calls: impl IntoIterator<Item = Call>,
    ) {
        for call in calls {
            let what = format!("{} {}", call.method, call.path);
            let answer = self.clone().send(call.method, call.path, call.body).await;
            assert_eq!(answer.status, status, "{what}: {}", answer.text);
            answer.problem(status, code);
        }
    }

    /// [`Caller::all_refused`] with `404 not_found`: none of `calls` may see what it names.
    pub(crate) async fn all_not_found(&self, calls: impl IntoIterator<Item = Call>) {
        self.all_refused(StatusCode::NOT_FOUND, "not_found", calls).await;
    }

    /// [`Caller::all_refused`] with `403 forbidden`.
    pub(crate) async fn all_forbidden(&self, calls: impl IntoIterator<Item = Call>) {
        self.all_refused(StatusCode::FORBIDDEN, "forbidden", calls).await;
    }
}

impl Caller<'_> {
    /// Sends each case in turn and asserts `422 validation_failed` naming exactly its fields (see
    /// [`Answer::invalid_fields`]): one table for a family of bad inputs, whose failure names the request.
    pub(crate) async fn all_invalid(&self, cases: impl IntoIterator<Item = Invalid>) {
        for Invalid { call, fields } in cases {
            let what = format!("{} {} {:?}", call.method, call.path, call.body);
            let answer = self.clone().send(call.method, call.path, call.body).await;
            assert_eq!(
                answer.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{what}: {}",
                answer.text
            );
            let fields: Vec<&str> = fields.iter().map(String::as_str).collect();
            answer.invalid_fields(&fields);
        }
    }
}

/// A request the API must refuse as invalid, naming `fields` (see [`Caller::all_invalid`]).
pub(crate) struct Invalid {
    call: Call,
    fields: Vec<String>,
}

/// One request of a table (see [`Caller::all_refused`]): a method, a path and a JSON body if it has one.
pub(crate) struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
}

impl Call {
    /// `method path` with `body` as JSON (none: no body).
    pub(crate) fn new(method: Method, path: impl Into<String>, body: Option<Value>) -> Self {
        Self {
            method,
            path: path.into(),
            body,
        }
    }

    pub(crate) fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path, None)
    }

    pub(crate) fn post(path: impl Into<String>, body: impl Serialize) -> Self {
        Self::new(Method::POST, path, Some(as_json(body)))
    }

    pub(crate) fn put(path: impl Into<String>, body: impl Serialize) -> Self {
        Self::new(Method::PUT, path, Some(as_json(body)))
    }

    /// A PUT without a body (pin, follow).
    pub(crate) fn put_empty(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path, None)
    }

    pub(crate) fn patch(path: impl Into<String>, body: impl Serialize) -> Self {
        Self::new(Method::PATCH, path, Some(as_json(body)))
    }

    pub(crate) fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path, None)
    }

    /// `method` on `collection/<id>` for an id that names nothing and one that is no id at all (`not-a-uuid`):
    /// both answer as if the resource did not exist.
    pub(crate) fn unknown_ids(method: Method, collection: &str) -> [Self; 2] {
        [uuid::Uuid::now_v7().to_string(), "not-a-uuid".to_owned()]
            .map(|id| Self::new(method.clone(), format!("{collection}/{id}"), None))
    }

    /// This request, which must be refused with `422` naming exactly `fields`.
    pub(crate) fn invalid(self, fields: &[&str]) -> Invalid {
        Invalid {
            call: self,
            fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        }
    }
}

fn as_json(body: impl Serialize) -> Value {
    serde_json::to_value(body).expect("a request body is JSON")
}

/// A whole answer: status, headers and body text, read before any assertion so a failure can show the body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
}

impl Problem {
    /// The `field` of each entry of `errors`, in order.
    pub(crate) fn fields(&self) -> Vec<&str> {
        self.errors.iter().map(|e| e.field.as_str()).collect()
    }
}

/// One entry of a validation problem's `errors`.
#[derive(Debug, Deserialize)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) message: String,
}

/// An RFC 9457 problem as EPOP answers every error (`application/problem+json`).
#[derive(Debug, Deserialize)]
pub(crate) struct Problem {
    pub(crate) title: String,
    pub(crate) detail: Option<String>,
    pub(crate) status: u16,
    pub(crate) code: String,
    pub(crate) request_id: Option<String>,
    #[serde(default)]
    pub(crate) errors: Vec<FieldError>,
}

impl Answer {
    pub(crate) async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("answer body");
        Self {
            status,
            headers,
            text,
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The seconds of the `Retry-After` header, which must be there.
    #[track_caller]
    pub(crate) fn retry_after(&self) -> u64 {
        let value = self.header("retry-after").expect("a Retry-After header");
        value
            .parse()
            .unwrap_or_else(|e| panic!("Retry-After {value:?}: {e}"))
    }

    /// The `Set-Cookie` header that sets cookie `name`.
    pub(crate) fn set_cookie(&self, name: &str) -> Option<String> {
        let prefix = format!("{name}=");
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&prefix))
            .map(str::to_owned)
    }

    /// The body as JSON, whatever the status (for tests that look at the status themselves).
    #[track_caller]
    pub(crate) fn body(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// Asserts `status` and returns the body as JSON.
    #[track_caller]
    pub(crate) fn json(&self, status: StatusCode) -> Value {
        self.typed(status)
    }

    /// Asserts `status` and returns the body as a `T`.
    #[track_caller]
    pub(crate) fn typed<T: DeserializeOwned>(&self, status: StatusCode) -> T {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("unexpected body ({e}): {}", self.text))
    }

    /// Asserts `200` with a body of media type `media` (`text/html`, `text/plain`) and returns the body.
    #[track_caller]
    pub(crate) fn ok_text(&self, media: &str) -> &str {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "unexpected status; body: {}",
            self.text
        );
        let content_type = self.header("content-type").unwrap_or_default();
        assert!(content_type.starts_with(media), "{content_type}");
        &self.text
    }

    /// Asserts an empty answer with `status` (`204`, a `304`).
    #[track_caller]
    pub(crate) fn empty(&self, status: StatusCode) {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        assert!(self.text.is_empty(), "expected no body, got: {}", self.text);
    }

    /// Asserts a problem+json answer with `status` and `code` that carries the request's id, and returns it.
    #[track_caller]
    pub(crate) fn problem(&self, status: StatusCode, code: &str) -> Problem {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "{}",
            self.text
        );
        let problem: Problem = self.typed(status);
        assert_eq!(problem.code, code, "{}", self.text);
        assert_eq!(problem.status, status.as_u16());
        assert!(!problem.title.is_empty(), "{}", self.text);
        for error in &problem.errors {
            assert!(
                !error.field.is_empty() && !error.message.is_empty(),
                "{}",
                self.text
            );
        }
        assert_eq!(
            problem.request_id.as_deref(),
            self.header("x-request-id"),
            "a problem carries its request's id"
        );
        problem
    }
}

impl Answer {
    /// Asserts `422 validation_failed` naming exactly `fields` (in any order), and returns the problem.
    #[track_caller]
    pub(crate) fn invalid_fields(&self, fields: &[&str]) -> Problem {
        let problem = self.invalid();
        let mut failing = problem.fields();
        failing.sort_unstable();
        let mut expected = fields.to_vec();
        expected.sort_unstable();
        assert_eq!(failing, expected, "{}", self.text);
        problem
    }
}

/// Shorthands of [`Answer::problem`] for the errors tests meet most, each at the status the API gives it.
macro_rules! problem_shorthands {
    ($($(#[$doc:meta])* $name:ident => $status:ident, $code:literal;)*) => {
        impl Answer {
            $(
                $(#[$doc])*
                #[track_caller]
                pub(crate) fn $name(&self) -> Problem {
                    self.problem(StatusCode::$status, $code)
                }
            )*
        }
    };
}

problem_shorthands! {
    /// Asserts `404 not_found`: what the caller may not see answers as if it did not exist.
    not_found => NOT_FOUND, "not_found";
    /// Asserts `401 unauthorized` (no token, or one that is not valid now).
    unauthorized => UNAUTHORIZED, "unauthorized";
    /// Asserts `403 forbidden`: the caller sees the resource but may not do this to it.
    forbidden => FORBIDDEN, "forbidden";
    /// Asserts `409 conflict`: the request contradicts the resource's state (such as the last owner leaving).
    conflict => CONFLICT, "conflict";
    /// Asserts `422 validation_failed` (its [`Problem::fields`] name what failed).
    invalid => UNPROCESSABLE_ENTITY, "validation_failed";
}
