//! The OpenAPI document and the API reference.
//!
//! The document's paths come from the handlers' `#[utoipa::path]` annotations, collected by the registration that
//! mounts them ([`super::configure`], [`super::openapi`]); [`complete`] then adds what every route answers
//! whatever its handler does (problem bodies from the extractors, the middleware and the `/api` guard). The
//! document is served at `/api/openapi.json` with Swagger UI at `/docs/`, and the reference it links problem
//! types to, `docs/api.md`, at `/docs/api.md`.

use crate::error::Problem;
use actix_web::HttpResponse;
use actix_web::http::header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, HeaderBuilder, PathItem, Ref, RefOr};
use utoipa::{Modify, OpenApi};

/// The project's API reference (`docs/api.md`), served as `/docs/api.md`: problem `type`s point into it.
pub const REFERENCE: &str = include_str!("../../../../docs/api.md");

/// The OpenAPI 3.1 description of every REST endpoint: the document's fixed parts (paths are added by the
/// registration, see [`super::openapi`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "EPOP API",
        description = "The EPOP team workspace API. Errors are RFC 9457 problem+json.\n\nSlow requests: a \
                       request head must arrive within `EPOP_REQUEST_HEAD_TIMEOUT` seconds of its first byte (default \
                       5), and a request body must not pause longer than `EPOP_BODY_IDLE_TIMEOUT` seconds (default \
                       10) nor arrive slower on average than `EPOP_BODY_MIN_RATE` bytes per second (default 1024, \
                       counted after the first idle timeout). A body that does is answered `400 bad_request` and \
                       its connection is closed."
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Sign-up, sign-in and sessions"),
        (name = "users", description = "Accounts and the people directory"),
        (name = "mfa", description = "The second factor: TOTP enrolment, recovery codes, turning it off"),
        (name = "chat", description = "Conversations, messages, read positions and search"),
        (name = "files", description = "Uploads and downloads through presigned URLs"),
        (name = "projects", description = "Projects, members with roles, and tasks"),
        (name = "calendar", description = "The caller's own calendar events and their iCalendar export"),
        (name = "notifications", description = "In-app notifications"),
        (name = "presence", description = "Who is online, on demand"),
        (name = "webhooks", description = "Outgoing webhooks (Standard Webhooks): endpoints per conversation, project or server, signed deliveries and their log"),
        (name = "operations", description = "Health and metrics"),
        (name = "admin", description = "Global admins only (`404` for everyone else): accounts and the audit log"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// A media type of problem bodies (RFC 9457).
const PROBLEM_JSON: &str = "application/problem+json";

/// The answers that come from the layers around the handlers rather than from a handler, as shared response
/// components: `(status, component name, description)`.
const SHARED: [(&str, &str, &str); 8] = [
    (
        "400",
        "BadRequest",
        "`bad_request`: the body is not valid JSON, is missing where required, or arrived too slowly (its \
         connection is then closed); or a `cursor` that does not decode",
    ),
    (
        "401",
        "Unauthorized",
        "`unauthorized`: no bearer token, or one that is invalid, expired or from an ended session \
         (`WWW-Authenticate: Bearer`)",
    ),
    (
        "404",
        "NotFound",
        "`not_found`: no such resource, one the caller may not see, or a path id that is not a UUID",
    ),
    (
        "413",
        "PayloadTooLarge",
        "`payload_too_large`: the body is larger than 256 KiB",
    ),
    (
        "415",
        "UnsupportedMediaType",
        "`unsupported_media_type`: a non-empty body whose `Content-Type` is missing or not JSON",
    ),
    (
        "422",
        "ValidationFailed",
        "`validation_failed`: every failing field or query parameter is listed in `errors`",
    ),
    (
        "429",
        "RateLimited",
        "`rate_limited`: past a rate limit; `Retry-After` gives the seconds to wait",
    ),
    (
        "503",
        "Unavailable",
        "`unavailable`: a dependency (PostgreSQL, Redis, the object store) is down, or the server sheds load \
         (then with `Retry-After`)",
    ),
];

/// Completes `document` with what every route answers besides its handler's own answers, so that it lists every
/// status the server sends:
///
/// - error bodies are `application/problem+json` (the `Problem` schema);
/// - operations with a body: `400`, `413`, `415` (the JSON extractor) and `422`; with query parameters: `422`;
///   with path parameters: `404`; with a bearer token: `401`;
/// - every `/api` operation: `429` (the `/api` guard's limit, or sign-in's own) and `503` (outages and load
///   shedding), and `500`.
pub fn complete(mut document: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = document.components.get_or_insert_with(Default::default);
    for (_, name, description) in SHARED {
        let mut response = problem_response(description);
        if name == "RateLimited" {
            response.headers.insert(
                "Retry-After".to_owned(),
                HeaderBuilder::new()
                    .schema(Some(
                        utoipa::openapi::ObjectBuilder::new()
                            .schema_type(utoipa::openapi::schema::Type::Integer),
                    ))
                    .description(Some("Seconds to wait before trying again"))
                    .build()
                    .into(),
            );
        }
        components.responses.insert(name.to_owned(), RefOr::T(response));
    }
    components.responses.insert(
        "Internal".to_owned(),
        RefOr::T(problem_response(
            "`internal`: a server failure (the body never shows its cause; the log has it under the request id)",
        )),
    );
    for (path, item) in &mut document.paths.paths {
        let api = path.starts_with("/api/");
        for (method, operation) in operations(item) {
            operation.operation_id = Some(operation_id(method, path));
            problem_bodies(operation);
            optional_body_is_an_object(operation);
            let has = |place: ParameterIn| {
                operation
                    .parameters
                    .iter()
                    .flatten()
                    .any(|parameter| match parameter {
                        RefOr::T(parameter) => parameter.parameter_in == place,
                        RefOr::Ref(_) => false,
                    })
            };
            let body = operation.request_body.is_some();
            let query = has(ParameterIn::Query);
            let path_ids = has(ParameterIn::Path);
            let secured = operation.security.is_some();
            for (status, name, _) in SHARED {
                let applies = match status {
                    "400" => body,
                    "401" => secured,
                    "404" => path_ids,
                    "413" | "415" => body,
                    "422" => body || query,
                    "429" | "503" => api,
                    _ => false,
                };
                if applies {
                    declare(operation, status, name);
                }
            }
            if api || path == "/metrics" {
                declare(operation, "500", "Internal");
            }
        }
    }
    document
}

/// A unique operation id from the method and the path (`put_tasks_id` for `PUT /api/tasks/{id}`): the handlers'
/// names (`get`, `list`, `update`) repeat across modules.
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .trim_start_matches("/api")
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_owned)
        .collect();
    format!("{}_{}", method.to_ascii_lowercase(), words.join("_"))
}

/// An optional body (refresh and logout by cookie, the `read` actions) may be left out, but when sent it is an
/// object: a JSON `null` is refused like any other non-object. utoipa describes `Option<T>` as "T or null".
fn optional_body_is_an_object(operation: &mut Operation) {
    let Some(RefOr::T(body)) = &mut operation.request_body else {
        return;
    };
    for content in body.content.values_mut() {
        let RefOr::T(content) = content else {
            continue;
        };
        if let Some(RefOr::T(utoipa::openapi::schema::Schema::OneOf(one_of))) = &content.schema {
            let not_null: Vec<_> = one_of
                .items
                .iter()
                .filter(|item| {
                    !matches!(item, RefOr::T(utoipa::openapi::schema::Schema::Object(object))
                        if object.schema_type == utoipa::openapi::schema::SchemaType::Type(utoipa::openapi::schema::Type::Null))
                })
                .cloned()
                .collect();
            if let [only] = not_null.as_slice() {
                content.schema = Some(only.clone());
            }
        }
    }
}

/// A response whose body is a problem.
fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(PROBLEM_JSON, Content::new(Some(Ref::from_schema_name("Problem"))))
        .build()
}

/// Adds the shared response `name` for `status` unless the operation declares that status itself.
fn declare(operation: &mut Operation, status: &str, name: &str) {
    operation
        .responses
        .responses
        .entry(status.to_owned())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
}

/// Error answers the handlers declare with the `Problem` schema are `application/problem+json`, not the
/// `application/json` that `body = Problem` says.
fn problem_bodies(operation: &mut Operation) {
    for (status, response) in &mut operation.responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        if response.description.is_empty() {
            // A response must describe itself: the shared description of its status, or the status's reason.
            response.description = SHARED
                .iter()
                .find(|(shared, ..)| shared == status)
                .map(|(.., description)| (*description).to_owned())
                .or_else(|| {
                    status
                        .parse::<u16>()
                        .ok()
                        .and_then(|code| actix_web::http::StatusCode::from_u16(code).ok())
                        .and_then(|code| code.canonical_reason())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| status.clone());
        }
        let problem = response.content.get("application/json").is_some_and(|content| {
            matches!(content, RefOr::T(content)
                if matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/Problem")))
        });
        if problem && let Some(content) = response.content.shift_remove("application/json") {
            response.content.insert(PROBLEM_JSON.to_owned(), content);
        }
    }
}

/// The operations of a path, with their methods' names, to change.
fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("GET", item.get.as_mut()),
        ("PUT", item.put.as_mut()),
        ("POST", item.post.as_mut()),
        ("DELETE", item.delete.as_mut()),
        ("PATCH", item.patch.as_mut()),
        ("HEAD", item.head.as_mut()),
        ("OPTIONS", item.options.as_mut()),
        ("TRACE", item.trace.as_mut()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

/// `GET /docs`: to the viewer at `/docs/`.
pub(crate) async fn redirect() -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// `GET /docs/api.md`: the API reference, as Markdown.
pub(crate) async fn reference() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/markdown; charset=utf-8"))
        .body(REFERENCE)
}

/// The endpoint index of `docs/api.md` (between its `endpoints:begin` and `endpoints:end` markers): one row per
/// operation of `document`, with its summary and every status it answers.
pub fn endpoint_index(document: &utoipa::openapi::OpenApi) -> String {
    let mut out = String::from("| operation | what it does | answers |\n|---|---|---|\n");
    for (path, item) in &document.paths.paths {
        for (method, operation) in named_operations(item) {
            let summary = operation
                .summary
                .as_deref()
                .unwrap_or("")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .replace('|', "\\|");
            let statuses: Vec<&str> = operation.responses.responses.keys().map(String::as_str).collect();
            out.push_str(&format!(
                "| `{method} {path}` | {summary} | {} |\n",
                statuses.join(", ")
            ));
        }
    }
    out
}

/// The operations of a path with their methods' names.
pub(crate) fn named_operations(item: &PathItem) -> impl Iterator<Item = (&'static str, &Operation)> {
    [
        ("GET", item.get.as_ref()),
        ("PUT", item.put.as_ref()),
        ("POST", item.post.as_ref()),
        ("DELETE", item.delete.as_ref()),
        ("PATCH", item.patch.as_ref()),
        ("HEAD", item.head.as_ref()),
        ("OPTIONS", item.options.as_ref()),
        ("TRACE", item.trace.as_ref()),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.map(|operation| (method, operation)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The part of the reference between the endpoint index's markers.
    fn index_in_reference() -> &'static str {
        let begin = "<!-- endpoints:begin -->\n";
        let start = REFERENCE.find(begin).map(|i| i + begin.len()).unwrap_or(0);
        let end = REFERENCE.find("<!-- endpoints:end -->").unwrap_or(0);
        REFERENCE.get(start..end).unwrap_or("")
    }

    #[test]
    fn the_reference_lists_every_operation_of_the_openapi_document() {
        let document = super::super::openapi();
        assert_eq!(
            index_in_reference(),
            endpoint_index(&document),
            "docs/api.md's endpoint index differs from the OpenAPI document: replace the lines between its \
             `endpoints:` markers with the output of `cargo run -p epop-gateway -- openapi --markdown`"
        );
        // Besides the index, each operation has its rules written somewhere in the reference.
        let rest = REFERENCE.replace(index_in_reference(), "");
        for (path, item) in &document.paths.paths {
            for (method, _) in named_operations(item) {
                let mention = format!("`{method} {path}");
                assert!(
                    rest.contains(&format!("{mention}`")) || rest.contains(&format!("{mention}?")),
                    "docs/api.md describes no {method} {path}"
                );
            }
        }
    }

    #[test]
    fn error_answers_are_problem_json_and_shared_statuses_are_declared() {
        let document = super::super::openapi();
        let json = serde_json::to_value(&document).unwrap();
        let operation = &json["paths"]["/api/tasks/{id}"]["put"]["responses"];
        for status in [
            "400", "401", "404", "412", "413", "415", "422", "429", "500", "503",
        ] {
            assert!(
                operation.get(status).is_some(),
                "PUT /api/tasks/{{id}} declares no {status}"
            );
        }
        let text = json.to_string();
        assert!(
            !text.contains("\"application/json\":{\"schema\":{\"$ref\":\"#/components/schemas/Problem\"")
        );
        for code in epop_core::ErrorCode::ALL {
            assert!(
                REFERENCE.contains(&format!("### `{}`", code.as_str())),
                "docs/api.md has no entry for the problem type {}",
                code.as_str()
            );
        }
        assert!(REFERENCE.contains("### `method_not_allowed`"));
    }
}
