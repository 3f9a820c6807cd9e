//! The single index writer: upsert by id, delete, commit.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use tantivy::{IndexWriter, TantivyDocument, Term};

use super::{Analysed, Store, entity_terms};
use crate::analysis::gazetteer::EntityType;
use crate::article::Article;
use crate::error::{Error, Result};

/// Articles analysed together on rayon's threads while the previous chunk is
/// written.
const ANALYSIS_CHUNK: usize = 64;

/// The most `ja` texts (title, lead, body: about a third as many documents)
/// handed to tantivy and not yet indexed: the writer waits for tantivy's
/// indexing threads beyond it. tantivy's own queue takes 10,000 documents,
/// which with their tokens was hundreds of MB; a few hundred documents keep
/// its threads as busy.
pub const TEXTS_IN_FLIGHT: usize = 768;

/// How long the writer waits for tantivy to take texts before it gives up
/// on them (see [`crate::analysis::tokenizer::TokenMemo::wait_below`]).
const IN_FLIGHT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Merges run one at a time (tantivy's default is four at once). Each merge
/// reads all of its segments through memory maps, which stay resident
/// while it runs; four at once made most of a large ingest's peak memory,
/// and on a machine of a few cores they only took turns anyway.
const MERGE_THREADS: usize = 1;

/// tantivy's indexing threads for a machine of `cores` cores: half of them
/// (at least one, at most four). The other half analyses the articles
/// (segmentation and entities, the larger share of ingest), and each
/// indexing thread writes a segment of its own, whose term dictionary is
/// built from scratch: on two cores one thread instead of two made a
/// Wikinews ingest 5.5 % fewer instructions (one segment of 600 articles
/// instead of two of 300; callgrind).
fn indexing_threads(cores: usize) -> usize {
    (cores / 2).clamp(1, 4)
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Added,
    Updated,
    Unchanged,
}

/// Holds tantivy's writer lock for the index (one per index, across processes).
pub struct Writer {
    inner: IndexWriter,
    /// Ids touched since the last commit: their new hash, or None if deleted.
    pending: HashMap<String, Option<String>>,
    /// Duplicate groups of the articles written since the last commit.
    groups: crate::dedup::Pending,
    /// Ids neither in the committed index nor written since: their first
    /// write needs no delete. (A delete is looked up in every segment at
    /// commit, which made a fresh ingest's cost grow with the index.)
    absent: HashSet<String>,
    /// Committed articles replaced or deleted since the last commit (at
    /// least: 0 when none is).
    superseded: usize,
    /// Which ids each committed segment holds (an upsert's look-up of its id
    /// skips the segments that certainly lack it).
    ids: super::term_filter::TermFilters,
    /// Every article was analysed again since the last commit
    /// ([`Writer::mark_reanalysed`]).
    reanalysed: bool,
}

/// The length of the duplicate-group alias log the last commit recorded.
fn committed_aliases(store: &Store) -> u64 {
    store.commit_info().dedup_aliases.unwrap_or(0)
}

/// Runs `analyse` over `items` on rayon's threads, a chunk of
/// [`ANALYSIS_CHUNK`] ahead of `write`, which takes the results in order on
/// this thread (the writer's): the cores stay busy while documents are
/// handed to tantivy. Stops at the first error of `write`.
fn analyse_ahead<T: Send, R: Send>(
    items: Vec<T>,
    analyse: impl Fn(T) -> R + Sync,
    mut write: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<R>>(2);
    std::thread::scope(|scope| {
        // (`move`: the sender goes with the thread and is dropped when it
        // ends, which ends the loop below.)
        let analyse = &analyse;
        scope.spawn(move || {
            let mut rest = items.into_iter().peekable();
            while rest.peek().is_some() {
                let chunk: Vec<T> = rest.by_ref().take(ANALYSIS_CHUNK).collect();
                let analysed = chunk.into_par_iter().map(analyse).collect();
                if tx.send(analysed).is_err() {
                    return; // the writer stopped on an error
                }
            }
        });
        for chunk in rx {
            for result in chunk {
                write(result)?;
            }
        }
        Ok(())
    })
}

impl Writer {
    /// Takes the index's writer lock; fails with [`Error::IndexLocked`] when
    /// another process (a running `kiji serve`) holds it.
    pub fn new(store: &Store, memory_mb: usize) -> Result<Writer> {
        let threads = indexing_threads(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        );
        let options = tantivy::indexer::IndexWriterOptions::builder()
            .num_worker_threads(threads)
            .memory_budget_per_thread(memory_mb.max(30) * 1_000_000 / threads)
            .num_merge_threads(MERGE_THREADS)
            .build();
        let inner = store
            .index
            .writer_with_options(options)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::IndexLocked {
                    path: store.path().to_path_buf(),
                },
                other => Error::Index(other),
            })?;
        inner.set_merge_policy(Box::new(super::merge::BoundedMergePolicy::new(
            store.max_merge_docs,
        )));
        Ok(Writer {
            inner,
            pending: HashMap::new(),
            groups: crate::dedup::Pending::open(store.path(), committed_aliases(store)),
            absent: HashSet::new(),
            superseded: 0,
            ids: Default::default(),
            reanalysed: false,
        })
    }

    fn current_hash(&mut self, store: &Store, id: &str) -> Result<Option<String>> {
        if let Some(h) = self.pending.get(id) {
            return Ok(h.clone());
        }
        Ok(store.get_filtered(id, Some(&mut self.ids))?.map(|s| s.hash))
    }

    /// The one place an upsert's outcome is decided: the content hash
    /// against the stored (or pending) version of the id.
    fn outcome(&mut self, store: &Store, id: &str, hash: &str) -> Result<Outcome> {
        Ok(match self.current_hash(store, id)? {
            Some(h) if h == hash => Outcome::Unchanged,
            Some(_) => Outcome::Updated,
            None => Outcome::Added,
        })
    }

    /// Adds or replaces the article with this id; unchanged content is skipped.
    pub fn upsert(&mut self, store: &Store, article: Article) -> Result<Outcome> {
        self.upsert_from(store, article, None)
    }

    /// [`Writer::upsert`], remembering the file the article came from.
    pub fn upsert_from(
        &mut self,
        store: &Store,
        article: Article,
        file: Option<&str>,
    ) -> Result<Outcome> {
        let hash = article.content_hash();
        let outcome = self.outcome(store, &article.id, &hash)?;
        if outcome == Outcome::Unchanged {
            return Ok(outcome);
        }
        self.note_outcome(&article.id, outcome);
        let mut analysed = store.analyse_hashed(article, hash);
        analysed.stored.file = file.map(String::from);
        self.put(store, analysed)?;
        Ok(outcome)
    }

    /// Upserts many articles: the changed ones are analysed on all cores,
    /// then written in order. Returns one outcome per article.
    pub fn upsert_many(
        &mut self,
        store: &Store,
        articles: Vec<Article>,
        file: Option<&str>,
    ) -> Result<Vec<Outcome>> {
        let mut outcomes = Vec::with_capacity(articles.len());
        let mut changed = Vec::new();
        for article in articles {
            let hash = article.content_hash();
            let outcome = self.outcome(store, &article.id, &hash)?;
            self.note_outcome(&article.id, outcome);
            if outcome != Outcome::Unchanged {
                // A later copy of the same id in this batch compares with this one.
                self.pending.insert(article.id.clone(), Some(hash.clone()));
                changed.push((article, hash));
            }
            outcomes.push(outcome);
        }
        analyse_ahead(
            changed,
            |(article, hash)| {
                let mut analysed = store.analyse_hashed(article, hash);
                analysed.stored.file = file.map(String::from);
                analysed
            },
            |analysed| self.put(store, analysed),
        )?;
        Ok(outcomes)
    }

    /// Remembers that `id`, about to be written, is in no segment yet, or
    /// that it replaces a committed article (stale from now on, for the
    /// duplicate groups of the articles written before it).
    fn note_outcome(&mut self, id: &str, outcome: Outcome) {
        if outcome == Outcome::Added && !self.pending.contains_key(id) {
            self.absent.insert(id.to_string());
        }
        if outcome == Outcome::Updated {
            self.superseded += 1;
        }
    }

    /// Writes an analysed article, replacing any with the same id, in the
    /// duplicate group its body puts it in.
    pub fn put(&mut self, store: &Store, analysed: Analysed) -> Result<()> {
        let a = &analysed.stored;
        let group = if store.dedup.enabled {
            let pending = &self.pending;
            let article = crate::dedup::groups::Incoming {
                id: &a.article.id,
                hash: &a.hash,
                committed: !self.absent.contains(&a.article.id),
                signature: analysed.signature.as_ref(),
            };
            let stale = |id: &str| pending.contains_key(id);
            let stale: Option<&dyn Fn(&str) -> bool> = (self.superseded > 0).then_some(&stale);
            self.groups.assign(store, &store.dedup, article, stale)?
        } else {
            crate::dedup::founder_key(&a.article.id, &a.hash)
        };
        self.write(store, analysed, &group)
    }

    /// Writes an analysed article in the group `group`.
    pub(crate) fn write(&mut self, store: &Store, analysed: Analysed, group: &str) -> Result<()> {
        let id = analysed.stored.article.id.clone();
        let hash = analysed.stored.hash.clone();
        if !self.absent.remove(&id) {
            self.inner
                .delete_term(Term::from_field_text(store.fields.id, &id));
            self.superseded += 1;
        }
        // Back-pressure: at most TEXTS_IN_FLIGHT texts queued in tantivy.
        store
            .analyzer
            .token_memo()
            .wait_below(TEXTS_IN_FLIGHT, IN_FLIGHT_TIMEOUT);
        self.inner.add_document(document(store, analysed, group)?)?;
        self.pending.insert(id, Some(hash));
        Ok(())
    }

    /// The merged duplicate groups, as written so far (committed or not).
    pub fn aliases(&self) -> &crate::dedup::Aliases {
        self.groups.aliases()
    }

    /// Forgets every merge of duplicate groups, before they are all
    /// computed again (`kiji ingest --reanalyze`); the commit makes it last.
    pub fn reset_duplicate_groups(&mut self) {
        self.groups.reset_aliases();
    }

    /// Writes the stored articles at these addresses again, each in its
    /// group (duplicate groups split). They are loaded and
    /// analysed again on rayon's threads, as [`Writer::upsert_many`]'s are.
    pub(crate) fn rewrite_many(
        &mut self,
        store: &Store,
        searcher: &tantivy::Searcher,
        moves: Vec<(tantivy::DocAddress, impl AsRef<str> + Send)>,
    ) -> Result<()> {
        analyse_ahead(
            moves,
            |(addr, group)| {
                let stored = store.load(searcher, addr)?;
                let mut analysed = store.analyse(stored.article);
                analysed.stored.file = stored.file;
                Ok((analysed, group))
            },
            |loaded: Result<(Analysed, _)>| {
                let (analysed, group) = loaded?;
                self.write(store, analysed, group.as_ref())
            },
        )
    }

    /// Deletes the article with this id; false if there was none.
    pub fn delete(&mut self, store: &Store, id: &str) -> Result<bool> {
        let existed = self.current_hash(store, id)?.is_some();
        if existed {
            if store.dedup.enabled {
                self.groups.removed(store, &store.searcher(), id)?;
            }
            self.inner
                .delete_term(Term::from_field_text(store.fields.id, id));
            self.superseded += 1;
            self.pending.insert(id.to_string(), None);
        }
        Ok(existed)
    }

    /// Commits everything written so far (durable on return) and makes it
    /// visible to searches.
    pub fn commit(&mut self, store: &Store) -> Result<u64> {
        let started = std::time::Instant::now();
        // Ids written or deleted since the last commit.
        let touched = self.pending.len();
        let opstamp = match self.commit_writes(store) {
            Ok(opstamp) => opstamp,
            Err(e) => {
                // A failed commit (a full disk) leaves tantivy's writer
                // without indexing threads: whatever came next was taken,
                // reported as written, and never stored. Its writes are
                // dropped (the caller reports them failed); the next ones go
                // in again.
                tracing::warn!(
                    "a commit failed ({e}); the writes since the last commit are dropped"
                );
                self.rollback(store)?;
                return Err(e);
            }
        };
        tracing::debug!(
            touched,
            took_ms = started.elapsed().as_millis(),
            "committed"
        );
        let fixups = self.groups.take();
        if fixups.is_empty() {
            return Ok(opstamp);
        }
        crate::dedup::fix_groups(self, store, fixups, opstamp)
    }

    /// Whether anything was written or deleted since the last commit.
    pub fn has_changes(&self) -> bool {
        !self.pending.is_empty() || self.reanalysed
    }

    /// Notes that every article has been analysed again (`kiji ingest
    /// --reanalyze`): the next commit records one analysis.
    pub fn mark_reanalysed(&mut self) {
        self.reanalysed = true;
    }

    /// Commits, without looking at duplicate groups.
    pub(crate) fn commit_writes(&mut self, store: &Store) -> Result<u64> {
        // The merges of duplicate groups are durable before the commit
        // that records them.
        let dedup_aliases = self.groups.sync_aliases()?;
        let info = super::CommitInfo {
            committed_at: Some(chrono::Utc::now().to_rfc3339()),
            opstamp: 0,
            entity_model: super::model_stamp(store.analyzer.info()),
            entity_model_older: store.older_analysis(self.reanalysed),
            dedup_aliases: (dedup_aliases > 0).then_some(dedup_aliases),
        };
        let mut prepared = self.inner.prepare_commit()?;
        prepared.set_payload(&serde_json::to_string(&info).unwrap_or_default());
        let opstamp = prepared.commit()?;
        crate::metrics::metrics().commits.inc();
        self.pending.clear();
        self.absent.clear();
        self.superseded = 0;
        self.reanalysed = false;
        store.invalidate_commit_info();
        store.refresh()?;
        Ok(opstamp)
    }

    /// Drops uncommitted changes.
    pub fn rollback(&mut self, store: &Store) -> Result<()> {
        self.inner.rollback()?;
        // (tantivy's rollback makes a new writer, with the default policy.)
        self.inner
            .set_merge_policy(Box::new(super::merge::BoundedMergePolicy::new(
                store.max_merge_docs,
            )));
        self.pending.clear();
        self.absent.clear();
        self.superseded = 0;
        // The merges since the last commit are dropped with its articles.
        self.groups = crate::dedup::Pending::open(store.path(), committed_aliases(store));
        // The dropped documents' tokens will never be asked for.
        store.analyzer.token_memo().clear();
        Ok(())
    }

    /// Waits for merges to finish and releases the lock.
    pub fn close(self) -> Result<()> {
        self.inner.wait_merging_threads()?;
        Ok(())
    }
}

/// The tantivy document for a stored article. The `ja` tokens from the
/// analysis pass go to the token memo, where the `ja` tokenizer finds them.
fn document(store: &Store, analysed: Analysed, group: &str) -> Result<TantivyDocument> {
    let f = &store.fields;
    let Analysed {
        stored,
        title_tokens,
        body_tokens,
        signature,
    } = analysed;
    let a = &stored.article;
    let memo = store.analyzer.token_memo();
    let mut doc = TantivyDocument::new();
    doc.add_text(f.id, &a.id);
    memo.put(&a.title, title_tokens);
    doc.add_text(f.title, &a.title);
    doc.add_text(f.title_bigram, &a.title);
    let (lead_start, lead_end) = crate::analysis::sentences::lead_range(&a.body);
    let lead = &a.body[lead_start..lead_end];
    if !lead.is_empty() {
        let lead_tokens = body_tokens
            .iter()
            .filter(|t| t.offset_from >= lead_start && t.offset_to <= lead_end)
            .cloned()
            .collect();
        memo.put(lead, lead_tokens);
        doc.add_text(f.lead, lead);
    }
    memo.put(&a.body, body_tokens);
    doc.add_text(f.body, &a.body);
    doc.add_text(f.body_bigram, &a.body);
    if let Some(p) = a.published {
        doc.add_i64(f.published, p.timestamp());
    }
    if let Some(s) = &a.source {
        doc.add_text(f.source, s);
    }
    if let Some(file) = &stored.file {
        doc.add_text(f.file, file);
    }
    for e in &stored.entities {
        for term in entity_terms(&e.canonical, e.kind) {
            doc.add_text(f.entity, term);
        }
        let field = match e.kind {
            EntityType::Person => f.person,
            EntityType::Organization => f.organization,
            EntityType::Place => f.place,
        };
        doc.add_text(field, &e.canonical);
    }
    doc.add_text(f.dedup_group, group);
    if let Some(sig) = &signature {
        for band in sig.bands() {
            doc.add_u64(f.dedup_band, band);
        }
        for word in sig.to_words() {
            doc.add_u64(f.dedup_signature, word);
        }
    }
    let json = serde_json::to_string(&stored).map_err(|e| Error::Corrupt(e.to_string()))?;
    doc.add_text(f.doc, json);
    Ok(doc)
}
