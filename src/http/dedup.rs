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
    responses((status = 200, body = Duplicates), (status = 400, body = super::error::ErrorBody),
              (status = 404, body = super::error::ErrorBody)))]
pub async fn duplicates(
    state: web::Data<AppState>,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<web::Json<Duplicates>, ApiError> {
    state.backend.local("/articles/{id}/duplicates")?;
    if let Some((k, _)) = super::handlers::query_pairs(&req)?
        .into_iter()
        .find(|(k, _)| !k.starts_with('_'))
    {
        return Err(Error::param(&k, "unknown parameter (this endpoint takes none)").into());
    }
    let id = super::handlers::checked_id(&state, id.into_inner())?;
    let store = state.store.clone();
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
        super::handlers::FilterParams,
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
    let id = super::handlers::checked_id(&state, id.into_inner())?;
    Ok(web::Json(
        web::block(move || {
            engine
                .related(&id, &request, limit)?
                .ok_or(Error::ArticleNotFound(id))
        })
        .await??,
    ))
}
