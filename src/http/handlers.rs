//! Thin handlers: extract, call the library off the async workers, serialise.

use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::backend::Answer;
use super::error::ApiError;
use crate::analysis::Analysis;
use crate::analysis::gazetteer::EntityType;
use crate::article::{Format, parse_bytes};
use crate::code::ErrorCode;
use crate::error::Error;
use crate::ingest::BatchReport;
use crate::search::cooccurrence::{CoSort, Cooccurrence};
use crate::search::entities::{EntityCount, EntityDetail};
use crate::search::export::{ExportFormat, ExportOptions};
use crate::search::timeline::{Interval, Timeline};
use crate::search::{ArticleView, IndexInfo, SearchRequest, SearchResponse};

type ApiResult<T> = Result<T, ApiError>;

/// The query string as ordered pairs (repeatable keys kept).
pub fn query_pairs(req: &HttpRequest) -> Result<Vec<(String, String)>, Error> {
    let raw = req.query_string();
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // form_urlencoded decodes bytes that are no UTF-8 into U+FFFD: name the
    // parameter instead of searching for replacement characters.
    if let Some(e) = undecodable_parameter(raw) {
        return Err(e);
    }
    Ok(pairs)
}

/// The error for the first parameter of query string `raw` that cannot be
/// decoded, if any (every endpoint: see [`super::edge::refuse`]): a `%` that
/// starts no escape (`q=5%`, which decoders pass on as text), or bytes that
/// are not UTF-8 once percent-decoded.
pub fn undecodable_parameter(raw: &str) -> Option<Error> {
    for part in raw.split('&') {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let stray_percent = |s: &str| {
            let b = s.as_bytes();
            (0..b.len()).any(|i| {
                b[i] == b'%'
                    && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                        && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
            })
        };
        if stray_percent(k) || stray_percent(v) {
            let name = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
            return Some(Error::param(
                &name,
                "has a `%` that starts no percent-escape (write a percent sign as %25)",
            ));
        }
        // ('+' for a space is ASCII: it changes nothing here)
        let utf8 = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8()
                .is_ok()
        };
        if !utf8(k) || !utf8(v) {
            let name = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
            return Some(Error::param(
                &name,
                "is not valid UTF-8 (percent-encode the text as UTF-8)",
            ));
        }
    }
    None
}

/// The optional `type` parameter.
fn entity_type_param(kind: Option<&str>) -> Result<Option<EntityType>, Error> {
    match kind.filter(|k| !k.is_empty()) {
        Some(k) => EntityType::parse(k).map(Some).ok_or_else(|| {
            Error::param("type", format!("{k:?}: use person, organization or place"))
        }),
        None => Ok(None),
    }
}

/// The optional `limit` parameter: `default` when absent, 1..=`max`.
fn limit_param(limit: Option<&str>, default: usize, max: usize) -> Result<usize, Error> {
    let limit = number_param("limit", limit)?.unwrap_or(default as u64) as usize;
    if limit == 0 || limit > max {
        return Err(Error::param(
            "limit",
            format!("{limit} is out of range (allowed 1..={max})"),
        ));
    }
    Ok(limit)
}

/// A whole number parameter, named when it is not one (serde's error for
/// a typed field does not say which).
fn number_param(name: &str, v: Option<&str>) -> Result<Option<u64>, Error> {
    v.map(|v| {
        v.trim()
            .parse::<u64>()
            .map_err(|_| Error::param(name, format!("{v:?} is not a whole number")))
    })
    .transpose()
}

/// An id from a path: at most `limits.id_bytes` (400 `invalid_id`).
pub fn checked_id(state: &AppState, id: String) -> ApiResult<String> {
    let limit = state.config.limits.id_bytes;
    if id.len() > limit {
        return Err(Error::InvalidId(format!(
            "the id is {} bytes, over the limit of {limit} bytes (limits.id_bytes)",
            id.len()
        ))
        .into());
    }
    Ok(id)
}

/// Search articles by keyword, entity, date and source, with highlighted snippets.
#[utoipa::path(get, path = "/search",
    params(
        ("q" = Option<String>, Query, description = "Query as Japanese is written (a word, a compound, a headline, a question): analysed with IPADIC into content units (compound nouns; verbs and adjectives in any inflection; particles and symbols dropped), each matching as its morphemes or as an exact substring. Spelling variants fold (コンピューター = コンピュータ, ヴァ = バ, 齋 = 斎). Syntax: \"exact phrase\", -exclude, a OR b, title:/body: scopes; anything else is text, so natural text never fails."),
        ("op" = Option<String>, Query, description = "and (default): every unit | or: any unit, or any word of a compound unit, ranked by BM25F"),
        ("min_match" = Option<String>, Query, description = "At least this many units (2) or this share of them (75%, rounded down, at least 1); replaces op"),
        ("entity" = Option<Vec<String>>, Query, description = "Entity (canonical name or alias); repeatable, ANDed"),
        ("person" = Option<String>, Query, description = "Person filter"),
        ("organization" = Option<String>, Query, description = "Organisation filter"),
        ("place" = Option<String>, Query, description = "Place filter"),
        ("type" = Option<String>, Query, description = "person | organization | place: the type of the entity values before it"),
        ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD (Asia/Tokyo)"),
        ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD (inclusive)"),
        ("source" = Option<Vec<String>>, Query, description = "Source; repeatable, ORed"),
        ("sort" = Option<String>, Query, description = "relevance | newest | oldest"),
        ("limit" = Option<usize>, Query, description = "Hits per page, 0..=100 (default 10)"),
        ("offset" = Option<usize>, Query, description = "Hits to skip"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("fragment_size" = Option<usize>, Query, description = "Snippet size in characters (default 120)"),
        ("fragments" = Option<usize>, Query, description = "Snippets per hit (default 2)"),
        ("pre_tag" = Option<String>, Query, description = "Default <mark>"),
        ("post_tag" = Option<String>, Query, description = "Default </mark>"),
        ("facets" = Option<String>, Query, description = "Comma list of person, organization, place, source"),
        ("facet_limit" = Option<usize>, Query, description = "Values per facet (default 10)"),
        ("dedup" = Option<bool>, Query, description = "One hit per duplicate group (the best-ranked article, with `duplicates` and `duplicate_ids`); total and facets count groups. Default false"),
    ),
    responses((status = 200, body = SearchResponse), (status = 400, body = super::error::ErrorBody)))]
pub async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<web::Json<Answer<SearchResponse>>> {
    let pairs = query_pairs(&req)?;
    let backend = state.backend.clone();
    Ok(web::Json(
        web::block(move || backend.search(&pairs)).await??,
    ))
}

/// One article with its entities; `q` / `entity` highlight it.
#[utoipa::path(get, path = "/articles/{id}",
    params(("id" = String, Path, description = "Article id"),
           ("q" = Option<String>, Query, description = "Highlight these words")),
    responses((status = 200, body = ArticleView), (status = 400, body = super::error::ErrorBody),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn article(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<web::Json<Answer<ArticleView>>> {
    let pairs = query_pairs(&req)?;
    let request = if pairs.is_empty() {
        None
    } else {
        Some(SearchRequest::from_pairs(&pairs, &[])?)
    };
    let id = checked_id(&state, id.into_inner())?;
    let backend = state.backend.clone();
    Ok(web::Json(
        web::block(move || backend.article_view(&id, request.as_ref())).await??,
    ))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EntitiesParams {
    /// person | organization | place
    #[serde(rename = "type")]
    kind: Option<String>,
    /// Name prefix (canonical or alias).
    prefix: Option<String>,
    /// At most this many (default 50, max 1000).
    #[param(value_type = Option<usize>)]
    limit: Option<String>,
}

/// Entities mentioned in the archive, with document counts.
#[utoipa::path(get, path = "/entities", params(EntitiesParams),
    responses((status = 200, body = Vec<EntityCount>), (status = 400, body = super::error::ErrorBody)))]
pub async fn entities(
    state: web::Data<AppState>,
    params: web::Query<EntitiesParams>,
) -> ApiResult<web::Json<Vec<EntityCount>>> {
    let p = params.into_inner();
    let kind = entity_type_param(p.kind.as_deref())?;
    let limit = limit_param(p.limit.as_deref(), 50, 1000)?;
    let backend = state.backend.clone();
    Ok(web::Json(
        web::block(move || backend.list_entities(kind, p.prefix.as_deref(), limit)).await??,
    ))
}

/// One entity: canonical name, type, aliases, document count, first and last date seen.
#[utoipa::path(get, path = "/entities/{name}",
    params(("name" = String, Path, description = "Canonical name or alias")),
    responses((status = 200, body = EntityDetail), (status = 404, body = super::error::ErrorBody)))]
pub async fn entity(
    state: web::Data<AppState>,
    name: web::Path<String>,
    _none: web::Query<NoParams>,
) -> ApiResult<web::Json<Answer<EntityDetail>>> {
    let backend = state.backend.clone();
    let name = name.into_inner();
    Ok(web::Json(
        web::block(move || backend.entity_detail(&name)).await??,
    ))
}

/// The parameters of an endpoint that takes none: any is a 400 naming it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeParams {
    /// Japanese text to analyse.
    text: Option<String>,
}

/// Morphemes and entities of a text (the `kiji analyze` output).
#[utoipa::path(get, path = "/analyze", params(AnalyzeParams),
    responses((status = 200, body = Analysis), (status = 400, body = super::error::ErrorBody)))]
pub async fn analyze_get(
    state: web::Data<AppState>,
    params: web::Query<AnalyzeParams>,
) -> ApiResult<web::Json<Analysis>> {
    let text = params
        .into_inner()
        .text
        .ok_or_else(|| Error::param("text", "missing: pass ?text=…"))?;
    let limit = state.config.limits.analyze_bytes;
    if text.len() > limit {
        return Err(ApiError::new(
            ErrorCode::PayloadTooLarge,
            format!(
                "the text is {} bytes, over the limit of {limit} bytes (limits.analyze_bytes)",
                text.len()
            ),
        ));
    }
    analyze_text(state, text).await
}

/// Like GET /analyze, with the text as the request body (text/plain, or JSON `{"text": …}`).
#[utoipa::path(post, path = "/analyze", request_body(content = String, content_type = "text/plain"),
    responses((status = 200, body = Analysis), (status = 400, body = super::error::ErrorBody)))]
pub async fn analyze_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<web::Json<Analysis>> {
    let json = match media_type(&req).as_deref() {
        None | Some("text/plain") => false,
        Some(t) if is_json_type(t) => true,
        Some(other) => {
            return Err(unsupported(other, "text/plain or application/json"));
        }
    };
    let limits = &state.config.limits;
    let bytes = read_body(
        &req,
        body,
        limits.analyze_bytes,
        "limits.analyze_bytes",
        limits.body_timeout_secs,
    )
    .await?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidUtf8,
            format!(
                "the body is not UTF-8 (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    let text = if json {
        #[derive(serde::Deserialize)]
        struct Body {
            text: String,
        }
        serde_json::from_str::<Body>(&text)
            .map_err(|e| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?
            .text
    } else {
        text
    };
    analyze_text(state, text).await
}

async fn analyze_text(state: web::Data<AppState>, text: String) -> ApiResult<web::Json<Analysis>> {
    let store = state.store.clone();
    Ok(web::Json(
        web::block(move || store.analyzer.analyze(&text)).await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    status: &'static str,
}

/// Liveness.
#[utoipa::path(get, path = "/health", responses((status = 200, body = Health)))]
pub async fn health() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

#[derive(Serialize, ToSchema)]
pub struct Stats {
    index_bytes: u64,
    index_path: String,
    #[serde(flatten)]
    index: IndexInfo,
    writes_enabled: bool,
    version: &'static str,
}

/// Documents, index size on disk, dictionary, last commit.
#[utoipa::path(get, path = "/stats", responses((status = 200, body = Stats)))]
pub async fn stats(state: web::Data<AppState>) -> ApiResult<web::Json<Stats>> {
    let st = state.clone();
    Ok(web::Json(
        web::block(move || {
            let searcher = st.store.searcher();
            Stats {
                index_bytes: st.store.size_on_disk(),
                index_path: st.store.path().display().to_string(),
                index: st.search.index_info(&searcher),
                writes_enabled: st.config.writes_enabled(),
                version: env!("CARGO_PKG_VERSION"),
            }
        })
        .await?,
    ))
}

/// The request's media type (`application/json`), lower case, without parameters.
fn media_type(req: &HttpRequest) -> Option<String> {
    let v = req.headers().get("content-type")?.to_str().unwrap_or("?");
    let t = v
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    (!t.is_empty()).then_some(t)
}

fn is_json_type(t: &str) -> bool {
    t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
}

fn is_ndjson_type(t: &str) -> bool {
    matches!(
        t,
        "application/x-ndjson"
            | "application/ndjson"
            | "application/jsonl"
            | "application/x-jsonlines"
            | "application/jsonlines"
    )
}

fn unsupported(given: &str, wanted: &str) -> ApiError {
    ApiError::new(
        ErrorCode::UnsupportedMediaType,
        format!("Content-Type {given:?} is not accepted here; send {wanted}"),
    )
}

fn too_large(limit: usize, setting: &str) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("the request body is over the limit of {limit} bytes ({setting})"),
    )
}

/// Reads a body up to `limit` bytes (413 `payload_too_large` beyond) within
/// `timeout_secs` (408 `request_timeout` after: a slow client cannot hold a
/// connection).
async fn read_body(
    req: &HttpRequest,
    mut body: web::Payload,
    limit: usize,
    setting: &str,
    timeout_secs: u64,
) -> ApiResult<Vec<u8>> {
    // A compressed body would be read as its compressed bytes.
    if let Some(coding) = req.headers().get("content-encoding") {
        let coding = coding.to_str().unwrap_or("?").trim();
        if !coding.eq_ignore_ascii_case("identity") {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                format!("Content-Encoding {coding:?} is not accepted; send the body uncompressed"),
            ));
        }
    }
    if let Some(len) = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(too_large(limit, setting));
    }
    let read = async {
        let mut out = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                let message = match e {
                    actix_web::error::PayloadError::Incomplete(_) => {
                        "the request body ended early: the connection closed before the \
                         Content-Length bytes arrived"
                            .to_string()
                    }
                    e => format!("the request body could not be read: {e}"),
                };
                ApiError::new(ErrorCode::InvalidBody, message)
            })?;
            if out.len() + chunk.len() > limit {
                return Err(too_large(limit, setting));
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    };
    match tokio::time::timeout(std::time::Duration::from_secs(timeout_secs), read).await {
        Ok(result) => result,
        Err(_) => Err(ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request body did not arrive within {timeout_secs} s (limits.body_timeout_secs)"
            ),
        )),
    }
}

/// Writes go to kiji's index; a server answering from a cluster takes none
/// (the node that holds the index pushes to the cluster).
fn writes_here(state: &AppState) -> ApiResult<()> {
    state
        .backend
        .local("writing articles (POST/DELETE /articles; the node holding kiji's index writes and `kiji opensearch push`es)")?;
    Ok(())
}

/// Checks the bearer token of a write request.
fn authorize(state: &AppState, req: &HttpRequest) -> ApiResult<()> {
    let Some(expected) = state.config.api_token() else {
        return Err(ApiError::new(
            ErrorCode::WritesDisabled,
            "writes are disabled: set server.api_token in config.toml or KIJI_API_TOKEN",
        ));
    };
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // The scheme is case-insensitive (RFC 9110 §11.1).
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    match given {
        Some(t) if constant_time_eq(t.as_bytes(), expected.as_bytes()) => Ok(()),
        Some(_) => Err(ApiError::new(ErrorCode::Unauthorized, "wrong API token")),
        None => Err(ApiError::new(
            ErrorCode::Unauthorized,
            "missing `Authorization: Bearer <token>` header",
        )),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One article as `POST /articles` takes it (every field but `body`
/// optional; see [`crate::article::RawArticle`]), for `/openapi.json`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ArticleInput {
    /// Stable id (a string, or a number); else derived from `url`, else from the text.
    id: Option<String>,
    title: Option<String>,
    /// A date or date-time; without a zone, Asia/Tokyo.
    published: Option<String>,
    updated: Option<String>,
    source: Option<String>,
    url: Option<String>,
    author: Option<String>,
    author_profile: Option<String>,
    body: String,
    /// Photo credits and captions (alias `captions`).
    credits: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    cited_outlets: Option<Vec<String>>,
}

/// One article or an array of them (`application/json`).
#[derive(ToSchema)]
#[allow(dead_code)]
#[serde(untagged)]
pub enum ArticlesInput {
    One(Box<ArticleInput>),
    Many(Vec<ArticleInput>),
}

/// Add or replace articles: one JSON object, an array, or NDJSON
/// (`Content-Type: application/x-ndjson`). Committed when the response comes.
#[utoipa::path(post, path = "/articles",
    request_body(content(
        (ArticlesInput = "application/json", example = json!({"id": "a1", "title": "露朝の軍事協力", "published": "2024-11-01", "source": "東西新聞", "body": "本文。"})),
        (String = "application/x-ndjson"))),
    responses((status = 200, body = BatchReport), (status = 400, body = super::error::ErrorBody),
              (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
              (status = 408, body = super::error::ErrorBody), (status = 413, body = super::error::ErrorBody),
              (status = 415, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn post_articles(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<web::Json<BatchReport>> {
    writes_here(&state)?;
    authorize(&state, &req)?;
    let ndjson = match media_type(&req).as_deref() {
        None => false,
        Some(t) if is_json_type(t) => false,
        Some(t) if is_ndjson_type(t) => true,
        Some(other) => {
            return Err(unsupported(
                other,
                "application/json or application/x-ndjson",
            ));
        }
    };
    let limits = &state.config.limits;
    let bytes = read_body(
        &req,
        body,
        limits.body_bytes,
        "limits.body_bytes",
        limits.body_timeout_secs,
    )
    .await?;
    if bytes.trim_ascii().is_empty() {
        return Err(Error::InvalidBody {
            code: ErrorCode::InvalidBody,
            message: "the body is empty: send a JSON object, an array of them, or JSON Lines"
                .into(),
        }
        .into());
    }
    let st = state.clone();
    let report = web::block(move || {
        let format = if ndjson {
            Format::JsonLines
        } else {
            Format::Json
        };
        let items = parse_bytes(format, &bytes, "");
        let mut writer = writer_within(&st.writer, WRITER_WAIT)?;
        crate::ingest::ingest_batch(&st.store, &mut writer, items, &st.config.limits)
    })
    .await??;
    Ok(web::Json(report))
}

/// How long a write waits for the index's one writer (the watcher may hold
/// it for a whole large file) before it is a `503 overloaded`.
const WRITER_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// The writer, once it is free within `wait`; else [`Error::WriterBusy`].
fn writer_within(
    writer: &std::sync::Mutex<crate::index::Writer>,
    wait: std::time::Duration,
) -> crate::Result<std::sync::MutexGuard<'_, crate::index::Writer>> {
    let deadline = std::time::Instant::now() + wait;
    loop {
        match writer.try_lock() {
            Ok(w) => return Ok(w),
            Err(std::sync::TryLockError::Poisoned(p)) => return Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(std::sync::TryLockError::WouldBlock) => {
                return Err(Error::WriterBusy(wait.as_secs()));
            }
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Deleted {
    deleted: String,
}

/// Delete one article.
#[utoipa::path(delete, path = "/articles/{id}", params(("id" = String, Path, description = "Article id")),
    responses((status = 200, body = Deleted), (status = 404, body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_article(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> ApiResult<web::Json<Deleted>> {
    writes_here(&state)?;
    authorize(&state, &req)?;
    let id = checked_id(&state, id.into_inner())?;
    let st = state.clone();
    let id2 = id.clone();
    let existed = web::block(move || -> crate::Result<bool> {
        let mut writer = writer_within(&st.writer, WRITER_WAIT)?;
        let existed = writer.delete(&st.store, &id2)?;
        if existed {
            writer.commit(&st.store)?;
        }
        Ok(existed)
    })
    .await??;
    if !existed {
        return Err(Error::ArticleNotFound(id).into());
    }
    Ok(web::Json(Deleted { deleted: id }))
}

/// The parameters of `/cooccurrence` (for `/openapi.json`; the handler
/// reads the query pairs: every error names its parameter).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CooccurrenceParams {
    /// The entity (canonical name or alias).
    entity: String,
    /// Restrict the entity to one type.
    #[param(rename = "type")]
    kind: Option<String>,
    /// Items to return (default 20, max 500).
    limit: Option<usize>,
    /// count (default) | lift
    sort: Option<String>,
    /// With sort=lift: leave out pairs seen together fewer times (default 2).
    min_count: Option<u64>,
    /// Only articles matching this query (as /search's `q`, with `op` or `min_match`).
    q: Option<String>,
    /// and (default) | or, for `q`.
    op: Option<String>,
    /// At least this many units of `q` (2) or this share (75%).
    min_match: Option<String>,
    /// First day, YYYY-MM-DD (Asia/Tokyo).
    from: Option<String>,
    /// Last day, YYYY-MM-DD (inclusive).
    to: Option<String>,
    /// Only these sources; repeatable, ORed.
    source: Option<Vec<String>>,
    /// true: count duplicate groups (syndicated copies once), not articles.
    dedup: Option<bool>,
}

/// The filters of `/search` that `/timeline` and `/export` take
/// ([`crate::search::FILTER_PARAMS`]), for `/openapi.json` (the handlers
/// read them with [`SearchRequest::filters_from_pairs`]).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct FilterParams {
    /// Query as Japanese is written (see /search).
    q: Option<String>,
    /// and (default) | or.
    op: Option<String>,
    /// At least this many units (2) or this share of them (75%); replaces op.
    min_match: Option<String>,
    /// Entity (canonical name or alias); repeatable, ANDed.
    entity: Option<Vec<String>>,
    /// Person filter.
    person: Option<String>,
    /// Organisation filter.
    organization: Option<String>,
    /// Place filter.
    place: Option<String>,
    /// person | organization | place: the type of the `entity` values before it.
    #[param(rename = "type")]
    kind: Option<String>,
    /// First day, YYYY-MM-DD (Asia/Tokyo).
    from: Option<String>,
    /// Last day, YYYY-MM-DD (inclusive).
    to: Option<String>,
    /// Source; repeatable, ORed.
    source: Option<Vec<String>>,
    /// true: count duplicate groups, not articles (default false).
    dedup: Option<bool>,
}

/// Counts over time of the articles matching the /search filters.
#[utoipa::path(get, path = "/timeline",
    params(("interval" = Option<String>, Query, description = "day | week | month (default) | year; at most 100,000 buckets"),
           FilterParams),
    responses((status = 200, body = Timeline), (status = 400, body = super::error::ErrorBody)))]
pub async fn timeline(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<web::Json<Answer<Timeline>>> {
    let pairs = query_pairs(&req)?;
    let interval = pairs
        .iter()
        .find(|(k, _)| k == "interval")
        .map(|(_, v)| Interval::parse(v))
        .transpose()?
        .unwrap_or(Interval::Month);
    let request = SearchRequest::filters_from_pairs(&pairs, &["interval"])?;
    let backend = state.backend.clone();
    Ok(web::Json(
        web::block(move || backend.timeline(&request, interval)).await??,
    ))
}

/// Entities mentioned in the same articles as an entity, with counts and lift.
#[utoipa::path(get, path = "/cooccurrence", params(CooccurrenceParams),
    responses((status = 200, body = Cooccurrence), (status = 400, body = super::error::ErrorBody),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn cooccurrence(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> ApiResult<web::Json<Answer<Cooccurrence>>> {
    /// Its own parameters; the others are the scope's (`from_pairs`).
    const OWN: [&str; 5] = ["entity", "type", "limit", "sort", "min_count"];
    const SCOPE: [&str; 7] = ["q", "op", "min_match", "from", "to", "source", "dedup"];
    let pairs = query_pairs(&req)?;
    let mut own: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
    let mut scope_pairs = Vec::new();
    for (k, v) in &pairs {
        if let Some(name) = OWN.iter().find(|n| **n == k) {
            if own.insert(name, v.as_str()).is_some() {
                return Err(Error::param(k, "is given more than once; it takes one value").into());
            }
        } else if SCOPE.contains(&k.as_str()) || k.starts_with('_') {
            scope_pairs.push((k.clone(), v.clone()));
        } else {
            return Err(Error::param(
                k,
                format!(
                    "unknown parameter (use {} or {})",
                    OWN.join(", "),
                    SCOPE.join(", ")
                ),
            )
            .into());
        }
    }
    let entity = own.get("entity").map(|e| e.trim()).unwrap_or("");
    if entity.is_empty() {
        return Err(Error::param(
            "entity",
            "is missing or empty: name the entity (プーチン, CSIS …)",
        )
        .into());
    }
    let entity = entity.to_string();
    let kind = entity_type_param(own.get("type").copied())?;
    let limit = limit_param(own.get("limit").copied(), 20, 500)?;
    let sort = match own.get("sort").copied().unwrap_or("count") {
        "count" | "" => CoSort::Count,
        "lift" => CoSort::Lift,
        other => return Err(Error::param("sort", format!("{other:?}: use count or lift")).into()),
    };
    let min_count = number_param("min_count", own.get("min_count").copied())?.unwrap_or(2);
    let scope = SearchRequest::from_pairs(&scope_pairs, &[])?;
    let backend = state.backend.clone();
    Ok(web::Json(
        web::block(move || backend.cooccurrence(&entity, kind, &scope, limit, sort, min_count))
            .await??,
    ))
}

/// Every matching article (same filters as /search), streamed as CSV or NDJSON.
#[utoipa::path(get, path = "/export",
    params(("format" = Option<String>, Query, description = "csv (default) | ndjson"),
           ("kwic" = Option<bool>, Query, description = "Add keyword-in-context lines (CSV: one row per match)"),
           ("kwic_width" = Option<usize>, Query, description = "Context characters each side (default 30)"),
           ("bom" = Option<bool>, Query, description = "CSV: start with a UTF-8 BOM (for Excel)"),
           FilterParams),
    responses((status = 200, description = "text/csv or application/x-ndjson, streamed"),
              (status = 400, body = super::error::ErrorBody)))]
pub async fn export(state: web::Data<AppState>, req: HttpRequest) -> ApiResult<HttpResponse> {
    let pairs = query_pairs(&req)?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let flag = |k: &str| -> ApiResult<bool> {
        Ok(get(k)
            .map(|v| crate::search::parse_bool(k, v))
            .transpose()?
            .unwrap_or(false))
    };
    let format = match get("format").unwrap_or("csv") {
        "csv" => ExportFormat::Csv,
        "ndjson" | "jsonl" => ExportFormat::Ndjson,
        other => {
            return Err(Error::param("format", format!("{other:?}: use csv or ndjson")).into());
        }
    };
    let kwic_width = match get("kwic_width") {
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=500).contains(n))
            .ok_or_else(|| Error::param("kwic_width", format!("{v:?}: a whole number 1..=500")))?,
        None => 30,
    };
    let opts = ExportOptions {
        format,
        kwic: flag("kwic")?,
        kwic_width,
        bom: flag("bom")?,
    };
    let mut request =
        SearchRequest::filters_from_pairs(&pairs, &["format", "kwic", "kwic_width", "bom"])?;
    request.limit = 0;
    state.backend.check_export(&request)?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, ApiError>>(32);
    let store = state.backend.clone();
    tokio::task::spawn_blocking(move || {
        let result = store.export(&request, &opts, |chunk| {
            tx.blocking_send(Ok(web::Bytes::from(chunk))).is_ok()
        });
        if let Err(e) = result {
            tracing::error!(error = %e, "export failed part-way");
            let _ = tx.blocking_send(Err(e.into()));
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let (content_type, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Ndjson => ("application/x-ndjson", "ndjson"),
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"kiji-export.{ext}\""),
        ))
        .streaming(stream))
}

/// The dashboard page and its assets, embedded in the binary.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(include_str!("../../web/index.html"))
}

pub async fn page_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(include_str!("../../web/app.js"))
}

pub async fn page_css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(include_str!("../../web/style.css"))
}

/// JSON for unknown routes.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::new(
        ErrorCode::NotFound,
        format!(
            "no endpoint {} {} (see /openapi.json)",
            req.method(),
            req.path()
        ),
    )
    .error_response()
}

/// Operational metrics, Prometheus text format.
#[utoipa::path(get, path = "/metrics",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let st = state.clone();
    let text = web::block(move || {
        let searcher = st.store.searcher();
        crate::metrics::metrics().render(
            searcher.num_docs(),
            searcher.segment_readers().len(),
            st.store.size_on_disk(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text))
}

/// The OpenAPI 3 document of every endpoint.
pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(super::ApiDoc::openapi_doc())
}
