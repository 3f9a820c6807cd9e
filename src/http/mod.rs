//! The REST service: routes ([`configure`]), thin handlers ([`handlers`]),
//! error bodies ([`error`]).

pub mod backend;
pub mod dedup;
pub mod edge;
pub mod error;
pub mod handlers;

use std::sync::{Arc, Mutex};

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::Service;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{App, HttpRequest, ResponseError, web};
use utoipa::OpenApi;

use crate::code::ErrorCode;
use crate::config::Config;
use crate::index::{Store, Writer};
use crate::search::Engine;
use error::ApiError;

/// Shared state of the running service.
pub struct AppState {
    /// The index (opened and written by `index`).
    pub store: Arc<Store>,
    /// The search layer over it.
    pub search: Arc<Engine>,
    /// What answers searches: `search`, or an OpenSearch cluster.
    pub backend: backend::Backend,
    /// The one index writer (tantivy allows one per index).
    pub writer: Mutex<Writer>,
    pub config: Arc<Config>,
}

impl AppState {
    /// The state of a service over `store`, writing through `writer`.
    pub fn new(store: Arc<Store>, writer: Writer, config: Arc<Config>) -> AppState {
        let search = Arc::new(Engine::new(store.clone(), config.ranking()));
        AppState {
            backend: backend::Backend::Local(search.clone()),
            search,
            store,
            writer: Mutex::new(writer),
            config,
        }
    }
}

impl AppState {
    /// The same service with searches answered by an OpenSearch cluster.
    pub fn with_remote(mut self, remote: crate::opensearch::RemoteSearch) -> AppState {
        self.backend = backend::Backend::OpenSearch(Arc::new(remote));
        self
    }
}

impl crate::watch::Target for AppState {
    fn store(&self) -> &Store {
        &self.store
    }
    fn writer(&self) -> &Mutex<Writer> {
        &self.writer
    }
    fn config(&self) -> &Config {
        &self.config
    }
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
        handlers::timeline,
        handlers::cooccurrence,
        handlers::export,
        handlers::metrics,
        dedup::duplicates,
        dedup::related,
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
        ErrorCode::MethodNotAllowed,
        format!("{} is not allowed on {}", req.method(), req.path()),
    )
}

/// The methods of the route `req` matched, for the `Allow` header of a 405.
fn allowed_methods(req: &HttpRequest) -> String {
    let pattern = req.match_pattern().unwrap_or_default();
    let mut methods: Vec<String> = API_ROUTES
        .iter()
        .find(|(p, _)| *p == pattern)
        .map(|(_, ms)| ms.iter().map(|m| m.to_ascii_uppercase()).collect())
        .unwrap_or_else(|| vec!["GET".to_string()]);
    if methods.iter().any(|m| m == "GET") && pattern != "/export" {
        methods.push("HEAD".to_string());
    }
    methods.join(", ")
}

/// GET, and HEAD as RFC 9110 asks wherever GET works (the same answer
/// without its body). Not for `/export`, whose body is the work.
fn get_or_head() -> actix_web::Route {
    use actix_web::guard;
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Every route of the public API with its methods: what [`configure`]
/// serves, what `/openapi.json` documents (a test checks both).
pub const API_ROUTES: [(&str, &[&str]); 14] = [
    ("/search", &["get"]),
    ("/articles", &["post"]),
    ("/articles/{id}", &["get", "delete"]),
    ("/articles/{id}/duplicates", &["get"]),
    ("/articles/{id}/related", &["get"]),
    ("/entities", &["get"]),
    ("/entities/{name}", &["get"]),
    ("/analyze", &["get", "post"]),
    ("/timeline", &["get"]),
    ("/cooccurrence", &["get"]),
    ("/export", &["get"]),
    ("/health", &["get"]),
    ("/stats", &["get"]),
    ("/metrics", &["get"]),
];

/// The longest request URI answered (414 `uri_too_long` above; actix itself
/// refuses URIs over 64 KiB with an empty 400).
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// Registers every route and the extractor error handlers. A wrong method
/// on a known path is a 405, an unknown path a 404.
pub fn configure(state: web::Data<AppState>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        let not_allowed = || {
            web::to(|req: HttpRequest| async move {
                let mut res = method_not_allowed(req.clone()).error_response();
                if let Ok(allow) = HeaderValue::from_str(&allowed_methods(&req)) {
                    res.headers_mut().insert(header::ALLOW, allow);
                }
                res
            })
        };
        let resource = |path: &str| web::resource(path.to_string()).default_service(not_allowed());
        cfg.app_data(state)
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                // serde's text ("unknown field `x`, expected …", "duplicate
                // field `limit`") names the parameter; actix's prefix does not help.
                let text = e.to_string();
                let text = text.trim_start_matches("Query deserialize error: ");
                ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("invalid parameter: {text}"),
                )
                .into()
            }))
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                ApiError::new(ErrorCode::InvalidParameter, e.to_string()).into()
            }))
            .service(resource("/search").route(get_or_head().to(handlers::search)))
            .service(resource("/articles").route(web::post().to(handlers::post_articles)))
            .service(
                resource("/articles/{id}")
                    .route(get_or_head().to(handlers::article))
                    .route(web::delete().to(handlers::delete_article)),
            )
            .service(resource("/entities").route(get_or_head().to(handlers::entities)))
            .service(resource("/entities/{name}").route(get_or_head().to(handlers::entity)))
            .service(
                resource("/articles/{id}/duplicates").route(get_or_head().to(dedup::duplicates)),
            )
            .service(resource("/articles/{id}/related").route(get_or_head().to(dedup::related)))
            .service(
                resource("/analyze")
                    .route(get_or_head().to(handlers::analyze_get))
                    .route(web::post().to(handlers::analyze_post)),
            )
            .service(resource("/timeline").route(get_or_head().to(handlers::timeline)))
            .service(resource("/cooccurrence").route(get_or_head().to(handlers::cooccurrence)))
            .service(resource("/export").route(web::get().to(handlers::export)))
            .service(resource("/").route(get_or_head().to(handlers::page)))
            .service(resource("/assets/app.js").route(get_or_head().to(handlers::page_js)))
            .service(resource("/assets/style.css").route(get_or_head().to(handlers::page_css)))
            .service(resource("/health").route(get_or_head().to(handlers::health)))
            .service(resource("/stats").route(get_or_head().to(handlers::stats)))
            .service(resource("/metrics").route(get_or_head().to(handlers::metrics)))
            .service(resource("/openapi.json").route(get_or_head().to(handlers::openapi)))
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
    let config = state.config.clone();
    App::new()
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
        .wrap_fn(move |req, srv| {
            // The edge, outermost: refuse early, else run the app; then shape and record.
            let started = std::time::Instant::now();
            let pending = match edge::refuse(&config, &req) {
                Some(e) => Err(req.into_response(e.error_response())),
                None => Ok(srv.call(req)),
            };
            edge::finish(pending, started)
        })
        .configure(configure(state))
}
