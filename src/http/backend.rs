//! The one seam between the handlers and what answers searches
//! (`server.backend`): kiji's own index ([`Engine`]) or an OpenSearch
//! cluster ([`RemoteSearch`]). Handlers call [`Backend`]; endpoints only
//! the local index can serve ask for it with [`Backend::local`], which is a
//! `501 not_supported_by_backend` on the cluster backend.

use std::sync::Arc;

use serde::Serialize;

use crate::analysis::gazetteer::EntityType;
use crate::error::{Error, Result};
use crate::opensearch::RemoteSearch;
use crate::opensearch::remote::Noted;
use crate::search::cooccurrence::{CoSort, Cooccurrence};
use crate::search::entities::{EntityCount, EntityDetail};
use crate::search::export::ExportOptions;
use crate::search::timeline::{Interval, Timeline};
use crate::search::{ArticleView, Engine, SearchRequest, SearchResponse};

/// What answers searches.
#[derive(Clone)]
pub enum Backend {
    /// kiji's own index.
    Local(Arc<Engine>),
    /// An OpenSearch alias fed by `kiji opensearch push`.
    OpenSearch(Arc<RemoteSearch>),
}

/// Which backend answered, and how its answer differs from the local
/// one's; only in answers of the cluster backend.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BackendInfo {
    /// `opensearch`.
    pub name: &'static str,
    /// The alias searched.
    pub alias: String,
    /// Differences from the local backend's answer (docs/scale-out.md §7).
    pub notes: Vec<&'static str>,
}

/// A response body, with [`BackendInfo`] as `backend` on the cluster backend.
#[derive(Debug, Serialize)]
pub struct Answer<T> {
    #[serde(flatten)]
    pub body: T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendInfo>,
}

impl Backend {
    /// `local` or `opensearch`.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Local(_) => "local",
            Backend::OpenSearch(_) => "opensearch",
        }
    }

    /// The local index's search layer, for endpoints only it can serve.
    pub fn local(&self, what: &str) -> Result<&Arc<Engine>> {
        match self {
            Backend::Local(engine) => Ok(engine),
            Backend::OpenSearch(_) => Err(Error::NotSupportedByBackend(format!(
                "{what} is not available with the OpenSearch backend (server.backend = \"opensearch\"); \
                 it needs kiji's local index"
            ))),
        }
    }

    fn answer<T>(&self, remote: &RemoteSearch, noted: Noted<T>) -> Answer<T> {
        Answer {
            body: noted.value,
            backend: Some(BackendInfo {
                name: self.name(),
                alias: remote.alias().to_string(),
                notes: noted.notes,
            }),
        }
    }

    fn plain<T>(body: T) -> Answer<T> {
        Answer {
            body,
            backend: None,
        }
    }

    /// `GET /search` from its query-string pairs.
    pub fn search(&self, pairs: &[(String, String)]) -> Result<Answer<SearchResponse>> {
        match self {
            Backend::Local(engine) => {
                let r = SearchRequest::from_pairs(pairs, &[])?;
                Ok(Self::plain(engine.search(&r)?))
            }
            Backend::OpenSearch(remote) => Ok(self.answer(remote, remote.search_pairs(pairs)?)),
        }
    }

    /// `GET /articles/{id}`.
    pub fn article_view(&self, id: &str, r: Option<&SearchRequest>) -> Result<Answer<ArticleView>> {
        match self {
            Backend::Local(engine) => Ok(Self::plain(engine.article_view(id, r)?)),
            Backend::OpenSearch(remote) => {
                let value = remote.article_view(id, r)?;
                Ok(self.answer(
                    remote,
                    Noted {
                        value,
                        notes: Vec::new(),
                    },
                ))
            }
        }
    }

    /// `GET /timeline`.
    pub fn timeline(&self, r: &SearchRequest, interval: Interval) -> Result<Answer<Timeline>> {
        match self {
            Backend::Local(engine) => Ok(Self::plain(engine.timeline(r, interval)?)),
            Backend::OpenSearch(remote) => Ok(self.answer(remote, remote.timeline(r, interval)?)),
        }
    }

    /// `GET /cooccurrence`.
    pub fn cooccurrence(
        &self,
        entity: &str,
        kind: Option<EntityType>,
        r: &SearchRequest,
        limit: usize,
        sort: CoSort,
        min_count: u64,
    ) -> Result<Answer<Cooccurrence>> {
        match self {
            Backend::Local(engine) => Ok(Self::plain(
                engine.cooccurrence(entity, kind, r, limit, sort, min_count)?,
            )),
            Backend::OpenSearch(remote) => Ok(self.answer(
                remote,
                remote.cooccurrence(entity, kind, r, limit, sort, min_count)?,
            )),
        }
    }

    /// `GET /entities`: a JSON array, so with no room for `backend` (its
    /// note is in docs/scale-out.md §7).
    pub fn list_entities(
        &self,
        kind: Option<EntityType>,
        prefix: Option<&str>,
        limit: usize,
    ) -> Result<Vec<EntityCount>> {
        match self {
            Backend::Local(engine) => engine.list_entities(kind, prefix, limit),
            Backend::OpenSearch(remote) => Ok(remote.list_entities(kind, prefix, limit)?.value),
        }
    }

    /// `GET /entities/{name}`.
    pub fn entity_detail(&self, name: &str) -> Result<Answer<EntityDetail>> {
        match self {
            Backend::Local(engine) => Ok(Self::plain(engine.entity_detail(name)?)),
            Backend::OpenSearch(remote) => {
                let value = remote.entity_detail(name)?;
                Ok(self.answer(
                    remote,
                    Noted {
                        value,
                        notes: Vec::new(),
                    },
                ))
            }
        }
    }

    /// Fails as `/export` would, before anything is streamed.
    pub fn check_export(&self, r: &SearchRequest) -> Result<()> {
        match self {
            Backend::Local(engine) => engine.build_query(r).map(|_| ()),
            Backend::OpenSearch(remote) => {
                if r.dedup {
                    return Err(Error::NotSupportedByBackend(
                        "dedup=true needs kiji's local index".into(),
                    ));
                }
                remote.plan(r).map(|_| ())
            }
        }
    }

    /// `GET /export`: streams rows to `sink`.
    pub fn export(
        &self,
        r: &SearchRequest,
        opts: &ExportOptions,
        sink: impl FnMut(Vec<u8>) -> bool,
    ) -> Result<u64> {
        match self {
            Backend::Local(engine) => engine.export(r, opts, sink),
            Backend::OpenSearch(remote) => remote.export(r, opts, sink),
        }
    }
}
