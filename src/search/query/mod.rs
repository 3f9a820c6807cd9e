//! Query understanding: the `q` language, read the way people type Japanese.
//!
//! 1. [`syntax`] reads what is clearly syntax (`"phrases"`, `-exclusion`,
//!    `OR`, `title:` / `body:`) and leaves everything else as text.
//! 2. [`units`] analyses each clause with the index's own IPADIC analysis
//!    into content units (compound nouns, inflected words), so that
//!    `北朝鮮のロシア派兵` asks for `北朝鮮` and `ロシア派兵`.
//! 3. [`build`] turns the units into a tantivy query: each unit matches as
//!    its morpheme phrase or as an exact substring; `op` / `min_match` say
//!    how many must match ([`unscored`]: without scoring them); ranking adds
//!    what makes a match a good one ([`ranked`]: scored on the matches only).

pub mod bm25f;
pub mod build;
pub mod ranked;
pub mod syntax;
pub mod units;
pub mod unscored;
mod window;

pub use build::{Operator, PlannedClause, QueryBuilder, QueryPlan};
pub use syntax::{Clause, ParsedQuery, Scope, parse};

/// For `Weight::explain` of kiji's own queries: `scorer` moved to `doc`,
/// or an error when `doc` does not match.
fn seek_match<D: tantivy::DocSet + ?Sized>(
    scorer: &mut D,
    doc: tantivy::DocId,
) -> tantivy::Result<()> {
    if scorer.seek(doc) == doc {
        Ok(())
    } else {
        Err(tantivy::TantivyError::InvalidArgument(format!(
            "document {doc} does not match"
        )))
    }
}

/// One step of a union of docsets standing at `doc`: with `target`, every
/// docset before it seeks it (`seek`); without, every docset at `doc` moves
/// on (`advance`). Returns the union's next document, the least of theirs.
fn union_step<'a, D: tantivy::DocSet + ?Sized + 'a>(
    sets: impl Iterator<Item = &'a mut D>,
    doc: tantivy::DocId,
    target: Option<tantivy::DocId>,
) -> tantivy::DocId {
    let mut least = tantivy::TERMINATED;
    for s in sets {
        match target {
            Some(t) if s.doc() < t => {
                s.seek(t);
            }
            None if s.doc() == doc => {
                s.advance();
            }
            _ => {}
        }
        least = least.min(s.doc());
    }
    least
}

/// The normalised strings snippets highlight for a plan, in one field,
/// each with the number of its unit (units count in plan order).
pub fn highlight_terms(plan: &QueryPlan, scope: Scope) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (n, (u, s)) in plan.positive_units().enumerate() {
        if s != Scope::Any && s != scope {
            continue;
        }
        for t in std::iter::once(&u.text).chain(u.base.as_ref()) {
            if !t.trim().is_empty() && !out.iter().any(|(_, x)| x == t) {
                out.push((n, t.clone()));
            }
        }
    }
    out
}
