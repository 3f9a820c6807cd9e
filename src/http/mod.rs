//! The REST service: routes ([`configure`]), thin handlers ([`handlers`]),
//! error bodies ([`error`]).

pub mod dedup;
pub mod error;
pub mod handlers;

use std::sync::{Arc, Mutex};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::Service;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::{App, HttpRequest, ResponseError, web};
use utoipa::OpenApi;

use crate::config::Config;
use crate::index::{Store, Writer};
use error::ApiError;

/// Shared state of the running service.
pub struct AppState {
    pub store: Arc<Store>,
    /// The one index writer (tantivy allows one per index).
    pub writer: Mutex<Writer>,
    pub config: Arc<Config>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kiji",
        description = "Search archives of Japanese news: keywords, entities, highlighted snippets."
    ),
    paths(
        handlers::search,
        handlers::article,
        handlers::entities,
        handlers::entity,
        handlers::analyze_get,
        handlers::analyze_post,
        handlers::health,
        handlers::stats,
        handlers::post_articles,
        handlers::delete_article,
        dedup::duplicates,
    ),
    components(schemas(error::ErrorBody, error::ErrorDetail))
)]
pub struct ApiDoc;

impl ApiDoc {
    pub fn openapi_doc() -> utoipa::openapi::OpenApi {
        let mut doc = ApiDoc::openapi();
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            utoipa::openapi::security::SecurityScheme::Http(utoipa::openapi::security::Http::new(
                utoipa::openapi::security::HttpAuthScheme::Bearer,
            )),
        );
        doc
    }
}

fn method_not_allowed(req: HttpRequest) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not allowed on {}", req.method(), req.path()),
    )
}

/// Registers every route and the extractor error handlers.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let not_allowed =
            || web::to(|req: HttpRequest| async move { method_not_allowed(req).error_response() });
        cfg.app_data(state)
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", e.to_string()).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", e.to_string()).into()
            }))
            .service(
                web::resource("/search")
                    .route(web::get().to(handlers::search))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/articles")
                    .route(web::post().to(handlers::post_articles))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/articles/{id}")
                    .route(web::get().to(handlers::article))
                    .route(web::delete().to(handlers::delete_article))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/articles/{id}/duplicates")
                    .route(web::get().to(dedup::duplicates))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/entities")
                    .route(web::get().to(handlers::entities))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/entities/{name}")
                    .route(web::get().to(handlers::entity))
                    .default_service(not_allowed()),
            )
            .service(
                web::resource("/analyze")
                    .route(web::get().to(handlers::analyze_get))
                    .route(web::post().to(handlers::analyze_post))
                    .default_service(not_allowed()),
            )
            .route("/timeline", web::get().to(handlers::timeline))
            .route("/cooccurrence", web::get().to(handlers::cooccurrence))
            .route("/export", web::get().to(handlers::export))
            .route("/", web::get().to(handlers::page))
            .route("/", web::head().to(handlers::page))
            .route("/assets/app.js", web::get().to(handlers::page_js))
            .route("/assets/style.css", web::get().to(handlers::page_css))
            .route("/health", web::get().to(handlers::health))
            .route("/health", web::head().to(handlers::health))
            .route("/stats", web::get().to(handlers::stats))
            .route("/openapi.json", web::get().to(handlers::openapi))
            .default_service(web::to(handlers::not_found));
    }
}

/// CORS from `server.cors_origins`: `*` allows any origin; an origin without
/// a port (`http://localhost`) allows every port of that host.
pub fn cors(config: &Config) -> Cors {
    let origins = config.server.cors_origins.clone();
    let cors = Cors::default()
        .allowed_methods(vec!["GET", "POST", "DELETE", "OPTIONS"])
        .allowed_headers(vec!["authorization", "content-type"])
        .expose_headers(vec!["x-kiji-opstamp", "x-kiji-dictionary"])
        .max_age(3600);
    if origins.iter().any(|o| o == "*") {
        return cors.allow_any_origin();
    }
    cors.allowed_origin_fn(move |origin, _| {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        origins.iter().any(|allowed| {
            origin == allowed
                || (origin.starts_with(allowed.as_str())
                    && origin[allowed.len()..].starts_with(':')
                    && origin[allowed.len() + 1..]
                        .chars()
                        .all(|c| c.is_ascii_digit()))
        })
    })
}

/// The whole application, as `kiji serve` runs it and as tests build it.
pub fn app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let cors = cors(&state.config);
    let provenance = state.clone();
    App::new()
        .wrap(actix_web::middleware::Logger::new("%r %s %Dms").log_target("kiji::http"))
        .wrap(cors)
        .wrap_fn(move |req, srv| {
            // Provenance on every response: which index state and dictionary answered.
            let info = provenance.store.commit_info();
            let dict = provenance.store.analyzer.info();
            let dictionary = format!(
                "{} ({}; gazetteer {})",
                dict.name, dict.source, dict.gazetteer_hash
            );
            let fut = srv.call(req);
            async move {
                let mut res = fut.await?;
                let headers = res.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&info.opstamp.to_string()) {
                    headers.insert(HeaderName::from_static("x-kiji-opstamp"), v);
                }
                if let Ok(v) = HeaderValue::from_str(&dictionary) {
                    headers.insert(HeaderName::from_static("x-kiji-dictionary"), v);
                }
                Ok(res)
            }
        })
        .configure(configure(state))
}
