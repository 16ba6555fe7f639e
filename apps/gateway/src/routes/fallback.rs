//! What a request that no route took is answered: `405` with `Allow` when its path is a route's but its method is
//! not, `404` otherwise.
//!
//! Every handler is mounted as its own resource guarded by its method (one `#[get]`, `#[put]`... per handler),
//! so actix-web tries the next resource when the method differs and ends here, in the default service, for a
//! known path with an unknown method as well as for an unknown path. The routes' paths and methods come from
//! the OpenAPI document, which is made by the same registration as the router (see [`super::configure`]).

use super::docs::named_operations;
use crate::error::ApiError;
use actix_web::dev::ResourceDef;
use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse, web};
use epop_core::ErrorCode;
use utoipa::openapi::OpenApi;

/// Every documented path pattern with the methods it answers, in the document's order.
#[derive(Debug, Clone, Default)]
pub struct RouteTable {
    routes: Vec<(ResourceDef, Vec<Method>)>,
}

impl RouteTable {
    /// The table of `document`'s paths.
    pub fn new(document: &OpenApi) -> Self {
        let routes = document
            .paths
            .paths
            .iter()
            .map(|(pattern, item)| {
                let allowed = named_operations(item)
                    .filter_map(|(method, _)| Method::from_bytes(method.as_bytes()).ok())
                    .collect();
                (ResourceDef::new(pattern.as_str()), allowed)
            })
            .collect();
        Self { routes }
    }

    /// The methods `path` answers, or `None` when no route has that path. A path that is a static route's
    /// (`/api/users/me`) gets that route's methods, not those of a pattern it also fits (`/api/users/{id}`).
    pub fn allowed(&self, path: &str) -> Option<&[Method]> {
        let mut matching = self.routes.iter().filter(|(def, _)| def.is_match(path));
        let first = matching.next()?;
        let exact = std::iter::once(first)
            .chain(matching)
            .find(|(def, _)| !def.is_prefix() && def.pattern() == Some(path));
        Some(&exact.unwrap_or(first).1)
    }
}

/// The default service: `405` with `Allow` for a route's path asked with another method, else `404`.
pub(super) async fn unrouted(
    req: HttpRequest,
    table: Option<web::Data<RouteTable>>,
) -> Result<HttpResponse, ApiError> {
    let allowed = table.as_deref().and_then(|table| table.allowed(req.path()));
    match allowed {
        Some(methods) if !methods.is_empty() => Ok(ApiError::method_not_allowed(methods)),
        _ => Err(ApiError::new(ErrorCode::NotFound, "no such route")),
    }
}

/// Answers a malformed path segment (e.g. an id that is not a UUID) with `404`; but a static route's path asked
/// with a method only a pattern beside it has (`GET /api/files/presign-upload` reaching `GET /api/files/{id}`)
/// with `405`, as if no pattern had taken it.
pub fn path_error(error: actix_web::error::PathError, req: &HttpRequest) -> actix_web::Error {
    let allowed = req
        .app_data::<web::Data<RouteTable>>()
        .and_then(|table| table.allowed(req.path()).map(<[_]>::to_vec))
        .filter(|allowed| !allowed.contains(req.method()));
    match allowed {
        Some(allowed) => {
            actix_web::error::InternalError::from_response(error, ApiError::method_not_allowed(&allowed))
                .into()
        }
        None => ApiError::not_found().into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_path_lists_its_methods_and_a_static_route_wins_over_a_pattern() {
        let table = RouteTable::new(&super::super::openapi());
        assert_eq!(
            table.allowed("/api/tasks/0190a8e4-0000-7000-8000-000000000000"),
            Some(&[Method::GET, Method::PUT, Method::DELETE][..])
        );
        assert_eq!(
            table.allowed("/api/users/me"),
            Some(&[Method::GET, Method::PUT][..])
        );
        assert_eq!(table.allowed("/api/users/x"), Some(&[Method::GET][..]));
        assert_eq!(table.allowed("/api/nothing"), None);
        assert_eq!(table.allowed("/api/tasks/a/b"), None);
    }
}
