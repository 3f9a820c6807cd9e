//! Handlers of near-duplicate detection (`src/dedup/`).

use actix_web::web;

use super::AppState;
use super::error::ApiError;
use crate::dedup::Duplicates;
use crate::error::Error;

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
