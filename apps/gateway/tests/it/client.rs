//! The one request client of the integration tests: `app.as_user(&ann).post(path, body).await` sends a request
//! as Ann, and the answer is read as the API promises it ([`Answer::json`] for a status and a JSON body,
//! [`Answer::problem`] for an RFC 9457 problem with its code, a title, and a field and message per failing
//! field), so a test reads like the API reference.

use crate::helpers::{TestApp, TestUser};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Who a request is sent as: the bearer token it carries.
#[derive(Clone)]
pub(crate) struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
    forwarded_for: Option<String>,
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
            forwarded_for: None,
        }
    }

    /// Requests sent without a token (sign-up, sign-in, password reset, e-mail verification).
    pub(crate) fn anonymous(&self) -> Caller<'_> {
        Caller {
            app: self,
            token: None,
            forwarded_for: None,
        }
    }
}

impl Caller<'_> {
    /// Sends `method path` with `body` as JSON (none: no body) and reads the whole answer.
    /// Requests that come through a proxy on behalf of client `ip` (`X-Forwarded-For`; believed only when the
    /// gateway trusts the loopback peer, `EPOP_TRUSTED_PROXIES`).
    pub(crate) fn via_proxy_for(mut self, ip: &str) -> Self {
        self.forwarded_for = Some(ip.to_owned());
        self
    }

    pub(crate) async fn send(self, method: Method, path: impl AsRef<str>, body: Option<Value>) -> Answer {
        let mut request = self.app.request(method, path.as_ref());
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(ip) = &self.forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request reaches the gateway");
        Answer::read(response).await
    }

    pub(crate) async fn get(self, path: impl AsRef<str>) -> Answer {
        self.send(Method::GET, path, None).await
    }

    pub(crate) async fn post(self, path: impl AsRef<str>, body: Value) -> Answer {
        self.send(Method::POST, path, Some(body)).await
    }

    pub(crate) async fn delete(self, path: impl AsRef<str>) -> Answer {
        self.send(Method::DELETE, path, None).await
    }
}

/// A whole answer: status, headers and body text, read before any assertion so a failure can show the body.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
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
