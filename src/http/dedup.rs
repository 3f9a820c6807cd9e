//! Handlers of near-duplicate detection (`src/dedup/`).

use actix_web::{HttpRequest, web};

use super::AppState;
use super::error::ApiError;
use crate::dedup::Duplicates;
use crate::error::Error;
use crate::search::SearchRequest;
use crate::search::related::Related;

/// The duplicate group of an article: its representative (the earliest
/// article of the group) and the other copies, earliest first.
#[utoipa::path(get, path = "/articles/{id}/duplicates",
    params(("id" = String, Path, description = "Article id")),
    responses((status = 200, body = Duplicates), (status = 404, body = super::error::ErrorBody)))]
pub async fn duplicates(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Duplicates>, ApiError> {
    state.backend.local("/articles/{id}/duplicates")?;
    let store = state.store.clone();
    let id = id.into_inner();
    Ok(web::Json(
        web::block(move || {
            crate::dedup::lookup::duplicates(&store, &id)?.ok_or(Error::ArticleNotFound(id))
        })
        .await??,
    ))
}

/// Other articles about the same event or subject as an article (not its
/// copies: its own duplicate group is left out), most related first:
/// ranked by the article's most distinctive words and entities
/// (more-like-this). The filters of `/search` select among them.
#[utoipa::path(get, path = "/articles/{id}/related",
    params(
        ("id" = String, Path, description = "Article id"),
        ("limit" = Option<usize>, Query, description = "Articles returned, 1–100. Default 10"),
        ("entity" = Option<String>, Query, description = "Only articles mentioning this entity (repeatable)"),
        ("from" = Option<String>, Query, description = "Published on or after this day (YYYY-MM-DD)"),
        ("to" = Option<String>, Query, description = "Published on or before this day (YYYY-MM-DD)"),
        ("source" = Option<String>, Query, description = "Only these sources (repeatable)"),
        ("dedup" = Option<bool>, Query, description = "One article per duplicate group. Default false"),
    ),
    responses((status = 200, body = Related), (status = 400, body = super::error::ErrorBody),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn related(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<web::Json<Related>, ApiError> {
    let pairs = super::handlers::query_pairs(&req)?;
    let limit = pairs
        .iter()
        .rfind(|(k, _)| k == "limit")
        .map(|(_, v)| {
            v.trim()
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=crate::search::MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    Error::param(
                        "limit",
                        format!(
                            "{v:?} is out of range (allowed 1..={})",
                            crate::search::MAX_LIMIT
                        ),
                    )
                })
        })
        .transpose()?
        .unwrap_or(10);
    let request = SearchRequest::filters_from_pairs(&pairs, &["limit"])?;
    let engine = state.backend.local("/articles/{id}/related")?.clone();
    let id = id.into_inner();
    Ok(web::Json(
        web::block(move || {
            engine
                .related(&id, &request, limit)?
                .ok_or(Error::ArticleNotFound(id))
        })
        .await??,
    ))
}
