//! Facet counts over the whole matched set, from the fast fields of
//! `person`, `organization`, `place` and `source`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, ColumnIndex, ColumnValues, Dictionary, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, SegmentReader};

/// Counts values of several string fast fields for every matched document.
pub struct FacetCollector {
    pub fields: Vec<String>,
    /// Keep only this many values a field, the first in the order facets
    /// list them ([`most_counted_first`]); `None`: every value. A
    /// large archive's facet has hundreds of thousands of values, and
    /// turning each into a `String` only to show ten took tens of MB a
    /// request.
    pub top: Option<usize>,
}

impl FacetCollector {
    /// Every value of `fields`, counted.
    pub fn all(fields: Vec<String>) -> FacetCollector {
        FacetCollector { fields, top: None }
    }

    /// The `n` most counted values of each of `fields`.
    pub fn top(fields: Vec<String>, n: usize) -> FacetCollector {
        FacetCollector {
            fields,
            top: Some(n),
        }
    }
}

/// value → count (FxHash: a facet of a large archive has tens of thousands
/// of values, and merging the segments' maps was mostly SipHash)
pub type ValueCounts = rustc_hash::FxHashMap<String, u64>;
/// field → value → count
pub type FacetCounts = HashMap<String, ValueCounts>;

pub struct FacetSegmentCollector {
    columns: Vec<(String, Option<StrColumn>)>,
    /// The matched documents, in order: their values are read at harvest,
    /// all columns at once, in the way that suits how many matched.
    docs: Vec<DocId>,
    max_doc: u32,
    segment: SegmentId,
}

impl Collector for FacetCollector {
    type Fruit = FacetCounts;
    type Child = FacetSegmentCollector;

    fn for_segment(
        &self,
        _segment_local_id: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<FacetSegmentCollector> {
        let mut columns = Vec::new();
        for name in &self.fields {
            columns.push((name.clone(), segment.fast_fields().str(name)?));
        }
        Ok(FacetSegmentCollector {
            columns,
            docs: Vec::new(),
            max_doc: segment.max_doc(),
            segment: segment.segment_id(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<SegmentCounts>) -> tantivy::Result<FacetCounts> {
        let mut by_field: HashMap<&str, Vec<Counted>> = HashMap::new();
        for fruit in &fruits {
            for (field, values) in fruit {
                by_field
                    .entry(field.as_str())
                    .or_default()
                    .push(values.iter().collect());
            }
        }
        Ok(by_field
            .into_iter()
            .map(|(field, lists)| {
                let mut merged = merge_sorted(lists);
                if let Some(n) = self.top {
                    merged.retain(|(bytes, _)| std::str::from_utf8(bytes).is_ok());
                    keep_most_counted(&mut merged, n);
                }
                let mut values = ValueCounts::default();
                values.reserve(merged.len());
                for (bytes, n) in merged {
                    if let Ok(value) = std::str::from_utf8(bytes) {
                        values.insert(value.to_string(), n);
                    }
                }
                (field.to_string(), values)
            })
            .collect())
    }
}

/// A segment's counts of one field: its counted values (the bytes of each
/// in one buffer) and their counts, in the order of the values (the column
/// dictionary's order, which is the strings' order).
#[derive(Default)]
pub struct SortedCounts {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    counts: Vec<u64>,
}

impl SortedCounts {
    fn push(&mut self, value: &[u8], count: u64) {
        self.bytes.extend_from_slice(value);
        self.ends.push(self.bytes.len() as u32);
        self.counts.push(count);
    }

    fn iter(&self) -> impl Iterator<Item = (&[u8], u64)> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(&self.ends)
            .zip(&self.counts)
            .map(|((from, &to), &n)| (&self.bytes[from as usize..to as usize], n))
    }
}

/// The order facets list their values in: the most counted first, ties by
/// value (a value's bytes order as its text does).
pub fn most_counted_first<V: Ord + ?Sized>(a: (&V, u64), b: (&V, u64)) -> std::cmp::Ordering {
    b.1.cmp(&a.1).then(a.0.cmp(b.0))
}

/// Keeps the first `n` of `values` in [`most_counted_first`] order, in no
/// particular order.
fn keep_most_counted(values: &mut Counted, n: usize) {
    if values.len() <= n {
        return;
    }
    let order = |a: &(&[u8], u64), b: &(&[u8], u64)| most_counted_first((a.0, a.1), (b.0, b.1));
    if n > 0 {
        values.select_nth_unstable_by(n - 1, order);
    }
    values.truncate(n);
}

/// Values (their bytes) and counts, in order.
type Counted<'a> = Vec<(&'a [u8], u64)>;

/// A segment's counts: field → its counts.
pub type SegmentCounts = Vec<(String, SortedCounts)>;

/// Merges the segments' sorted counts of a field into one sorted list, a
/// value's counts added: two lists at a time, each pass linear, with no
/// hashing and no string copied.
fn merge_sorted(mut lists: Vec<Counted>) -> Counted {
    while lists.len() > 1 {
        let mut next = Vec::with_capacity(lists.len().div_ceil(2));
        let mut it = lists.into_iter();
        while let Some(a) = it.next() {
            next.push(match it.next() {
                Some(b) => merge_two(&a, &b),
                None => a,
            });
        }
        lists = next;
    }
    lists.pop().unwrap_or_default()
}

fn merge_two<'a>(a: &[(&'a [u8], u64)], b: &[(&'a [u8], u64)]) -> Counted<'a> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(b[j].0) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push((a[i].0, a[i].1 + b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = SegmentCounts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        self.docs.push(doc);
    }

    fn collect_block(&mut self, docs: &[DocId]) {
        self.docs.extend_from_slice(docs);
    }

    fn harvest(self) -> SegmentCounts {
        let mut out = Vec::with_capacity(self.columns.len());
        for (name, column) in self.columns {
            let mut values = SortedCounts::default();
            if let Some(col) = column {
                let mut counts = vec![0u32; col.num_terms()];
                let with_values =
                    || docs_with_values(self.segment, &name, &col.ords().index, self.max_doc);
                count_values(
                    col.ords(),
                    &self.docs,
                    self.max_doc,
                    with_values,
                    &mut counts,
                );
                if let Err(e) = read_values(col.dictionary(), &counts, &mut values) {
                    tracing::warn!("facet {name}: dictionary read failed: {e}");
                }
            }
            out.push((name, values));
        }
        out
    }
}

/// The values whose count (by ordinal) is not zero, with their counts, in
/// order. When most values were counted the whole dictionary is read in
/// order; when few were, only their blocks (each found by a search of the
/// block index, which made reading most of a large dictionary this way
/// cost more than reading all of it).
fn read_values(
    dictionary: &Dictionary,
    counts: &[u32],
    out: &mut SortedCounts,
) -> std::io::Result<()> {
    let counted = counts.iter().filter(|n| **n > 0).count();
    out.ends.reserve(counted);
    out.counts.reserve(counted);
    let mut push = |bytes: &[u8], n: u32| out.push(bytes, u64::from(n));
    if counted.saturating_mul(4) >= counts.len() {
        let mut terms = dictionary.stream()?;
        while terms.advance() {
            match counts.get(terms.term_ord() as usize) {
                Some(&n) if n > 0 => push(terms.key(), n),
                _ => {}
            }
        }
        return Ok(());
    }
    let counted: Vec<u64> = (0..counts.len() as u64)
        .filter(|&ord| counts[ord as usize] > 0)
        .collect();
    let mut next = counted.iter().map(|&ord| counts[ord as usize]);
    dictionary.sorted_ords_to_term_cb(counted.iter().copied(), |bytes| {
        push(bytes, next.next().unwrap_or(0));
        Ok(())
    })?;
    Ok(())
}

/// A segment with at least one matched document in this many has its
/// column read in one pass rather than document by document.
const SCAN_WHEN_ONE_MATCHED_IN: usize = 8;
/// 64-document words of a segment whose values a scan decodes at a time.
const SCAN_WORDS: usize = 64;

/// Adds one to `counts[ord]` for each value of each document of `docs`
/// (sorted, each once) in `column`, a segment's column of term ordinals.
///
/// When few documents matched, each one's values are looked up. When many
/// did (a common word matches most of an archive), looking each one up
/// (its rank among the documents with values, then its value range, each a
/// call through the column's codec) costs more than decoding the column in
/// order: value ranges and values are decoded a chunk of documents at a
/// time, and the ranks of matched documents found by counting bits in
/// `with_values` (which documents have values, when not all do).
fn count_values(
    column: &Column<u64>,
    docs: &[DocId],
    max_doc: u32,
    with_values: impl FnOnce() -> Option<Arc<Vec<u64>>>,
    counts: &mut [u32],
) {
    if docs.len().saturating_mul(SCAN_WHEN_ONE_MATCHED_IN) < max_doc as usize {
        for &doc in docs {
            for ord in column.values_for_doc(doc) {
                add(counts, ord);
            }
        }
        return;
    }
    let matched = DocSet::of(docs.iter().copied(), max_doc);
    let values = column.values.as_ref();
    match &column.index {
        ColumnIndex::Empty { .. } => {}
        ColumnIndex::Full => scan(values, None, None, &matched, counts),
        ColumnIndex::Optional(_) => {
            let with_values = with_values();
            scan(
                values,
                None,
                with_values.as_ref().map(|b| b.as_slice()),
                &matched,
                counts,
            )
        }
        ColumnIndex::Multivalued(index) => {
            let starts = index.get_start_index_column().as_ref();
            let with_values = with_values();
            scan(
                values,
                Some(starts),
                with_values.as_ref().map(|b| b.as_slice()),
                &matched,
                counts,
            )
        }
    }
}

#[inline]
fn add(counts: &mut [u32], ord: u64) {
    if let Some(slot) = counts.get_mut(ord as usize) {
        *slot += 1;
    }
}

/// A segment's documents as a bitset, 64 to a word.
struct DocSet(Vec<u64>);

impl DocSet {
    fn of(docs: impl IntoIterator<Item = DocId>, max_doc: u32) -> DocSet {
        let mut bits = vec![0u64; (max_doc as usize).div_ceil(64)];
        for doc in docs {
            if let Some(word) = bits.get_mut(doc as usize / 64) {
                *word |= 1 << (doc % 64);
            }
        }
        DocSet(bits)
    }
}

/// Counts the values of the documents in `matched`. The documents with
/// values are those of `with_values` (all, with `None`), ranked in order;
/// the values of rank `r` are row `r` of `values`, or rows
/// `starts[r]..starts[r + 1]` with `starts`.
fn scan(
    values: &dyn ColumnValues<u64>,
    starts: Option<&dyn ColumnValues<u32>>,
    with_values: Option<&[u64]>,
    matched: &DocSet,
    counts: &mut [u32],
) {
    let ranks = match starts {
        Some(s) => s.num_vals().saturating_sub(1),
        None => values.num_vals(),
    };
    let has = |word: usize| with_values.map_or(u64::MAX, |w| w.get(word).copied().unwrap_or(0));
    let mut bounds: Vec<u32> = Vec::new();
    let mut vals: Vec<u64> = Vec::new();
    let mut first = 0u32;
    for (chunk, words) in matched.0.chunks(SCAN_WORDS).enumerate() {
        let word0 = chunk * SCAN_WORDS;
        let in_chunk: u32 = (word0..word0 + words.len())
            .map(|w| has(w).count_ones())
            .sum();
        let n = in_chunk.min(ranks.saturating_sub(first));
        let any = words
            .iter()
            .enumerate()
            .any(|(i, m)| m & has(word0 + i) != 0);
        if any && n > 0 {
            bounds.resize(n as usize + 1, 0);
            match starts {
                Some(s) => s.get_range(u64::from(first), &mut bounds),
                None => bounds.iter_mut().zip(first..).for_each(|(b, row)| *b = row),
            }
            let row0 = bounds[0];
            vals.resize((bounds[n as usize] - row0) as usize, 0);
            values.get_range(u64::from(row0), &mut vals);
            let mut rank = 0u32;
            for (i, &m) in words.iter().enumerate() {
                let h = has(word0 + i);
                let mut hits = m & h;
                while hits != 0 {
                    let bit = hits.trailing_zeros();
                    let r = (rank + (h & ((1u64 << bit) - 1)).count_ones()) as usize;
                    if r < n as usize {
                        let (from, to) = (bounds[r] - row0, bounds[r + 1] - row0);
                        for &ord in &vals[from as usize..to as usize] {
                            add(counts, ord);
                        }
                    }
                    hits &= hits - 1;
                }
                rank += h.count_ones();
            }
        }
        first += n;
    }
}

/// Bytes of [`docs_with_values`] bitsets kept (a bit per document and
/// column: 64 MB covers about 170 million documents of three columns).
const WITH_VALUES_CACHE_BYTES: usize = 64 << 20;

type WithValuesCache = Vec<(SegmentId, String, Arc<Vec<u64>>)>;
static WITH_VALUES: Mutex<WithValuesCache> = Mutex::new(Vec::new());

/// Which documents of a segment have values in a column (`None`: all of
/// them, their ranks being their ids), as a bitset. Tantivy finds the
/// document of a rank by counting through a 64-bit word bit by bit, which
/// made walking a large column by rank cost more than reading its values;
/// a segment never changes its columns, so the bitset is made once per
/// segment and column, and kept (the oldest dropped first beyond
/// [`WITH_VALUES_CACHE_BYTES`]).
fn docs_with_values(
    segment: SegmentId,
    field: &str,
    index: &ColumnIndex,
    max_doc: u32,
) -> Option<Arc<Vec<u64>>> {
    let docs: Box<dyn Iterator<Item = DocId> + '_> = match index {
        ColumnIndex::Empty { .. } => return Some(Arc::new(Vec::new())),
        ColumnIndex::Full => return None,
        ColumnIndex::Optional(optional) => Box::new(optional.iter_non_null_docs()),
        ColumnIndex::Multivalued(multi) => {
            if multi.get_start_index_column().num_vals() == multi.num_docs() + 1 {
                // Value ranges indexed by document (every document has
                // values, or the column's format predates ranks).
                return None;
            }
            multi.iter_non_null_docs()
        }
    };
    let cache = || WITH_VALUES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((.., bits)) = cache().iter().find(|(s, f, _)| *s == segment && f == field) {
        return Some(bits.clone());
    }
    let bits = Arc::new(DocSet::of(docs, max_doc).0);
    let mut cache = cache();
    cache.push((segment, field.to_string(), bits.clone()));
    let mut bytes: usize = cache.iter().map(|(.., b)| b.len() * 8).sum();
    while bytes > WITH_VALUES_CACHE_BYTES && cache.len() > 1 {
        bytes -= cache.remove(0).2.len() * 8;
    }
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::Term;
    use tantivy::query::{AllQuery, TermQuery};
    use tantivy::schema::{FAST, STRING, Schema};
    use tantivy::{Index, TantivyDocument};

    /// Thousands of values (many dictionary blocks), several per document:
    /// every value gets its own count, paired with the right string.
    #[test]
    fn counts_every_value_of_a_large_dictionary() {
        let mut builder = Schema::builder();
        let person = builder.add_text_field("person", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 20_000_000).unwrap();
        let name = |i: usize| format!("人物{i:05}・テスト");
        // Value i is in documents 0..=(i % 7): count i % 7 + 1.
        for d in 0..7 {
            let mut doc = TantivyDocument::default();
            for i in (0..5_000).filter(|i| i % 7 >= d) {
                doc.add_text(person, name(i));
            }
            writer.add_document(doc).unwrap();
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        let counts = searcher
            .search(&AllQuery, &FacetCollector::all(vec!["person".into()]))
            .unwrap();
        let person = &counts["person"];
        assert_eq!(person.len(), 5_000);
        for i in 0..5_000 {
            assert_eq!(person[&name(i)], (i % 7 + 1) as u64, "{}", name(i));
        }
    }

    /// Every way a column is read gives the counts a plain walk of the
    /// documents gives: few or many documents matched (looked up one by one,
    /// or scanned), columns with values in every document, in some, or
    /// several in some, over several segments, with deleted documents.
    #[test]
    fn counts_agree_with_the_documents_whatever_the_columns_and_matches() {
        let mut builder = Schema::builder();
        let tag = builder.add_text_field("tag", STRING);
        let full = builder.add_text_field("full", STRING | FAST);
        let some = builder.add_text_field("some", STRING | FAST);
        let many = builder.add_text_field("many", STRING | FAST);
        let index = Index::create_in_ram(builder.build());
        let mut writer = index.writer_with_num_threads(1, 20_000_000).unwrap();
        // (tags, values per field) of each live document, to count by hand.
        let mut docs: Vec<(Vec<String>, [Vec<String>; 3])> = Vec::new();
        let mut x: u64 = 7;
        let mut next = |n: u64| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % n
        };
        for segment in 0..3 {
            for d in 0..3_000 {
                let mut doc = TantivyDocument::default();
                let mut tags = vec!["all".to_string()];
                if d % 3 == 0 {
                    tags.push("third".into());
                }
                if d % 97 == 0 {
                    tags.push("rare".into());
                }
                let mut values: [Vec<String>; 3] = Default::default();
                values[0].push(format!("源{}", next(5)));
                if next(3) == 0 {
                    values[1].push(format!("場所{}", next(40)));
                }
                // None for some documents, for others up to 12 (repeats too).
                if segment != 1 || d % 2 == 0 {
                    for _ in 0..next(13) {
                        values[2].push(format!(
                            "人物{}・{}",
                            next(300),
                            "あ".repeat(next(4) as usize)
                        ));
                    }
                }
                for t in &tags {
                    doc.add_text(tag, t);
                }
                for (field, vs) in [full, some, many].into_iter().zip(&values) {
                    for v in vs {
                        doc.add_text(field, v);
                    }
                }
                writer.add_document(doc).unwrap();
                docs.push((tags, values));
            }
            writer.commit().unwrap();
        }
        // About a fifth of the documents deleted, in every segment.
        writer.delete_term(Term::from_field_text(full, "源4"));
        writer.commit().unwrap();
        docs.retain(|(_, values)| values[0][0] != "源4");
        let searcher = index.reader().unwrap().searcher();
        assert!(searcher.segment_readers().len() >= 2);
        let fields: Vec<String> = vec!["full".into(), "some".into(), "many".into()];
        let collector = FacetCollector::all(fields.clone());
        let tops = [1, 3, 25].map(|n| (n, FacetCollector::top(fields.clone(), n)));
        for t in ["all", "third", "rare"] {
            let query = TermQuery::new(
                Term::from_field_text(tag, t),
                tantivy::schema::IndexRecordOption::Basic,
            );
            let counts = searcher.search(&query, &collector).unwrap();
            for (i, field) in ["full", "some", "many"].into_iter().enumerate() {
                let mut expected: HashMap<String, u64> = HashMap::new();
                for (tags, values) in &docs {
                    if tags.iter().any(|x| x == t) {
                        for v in &values[i] {
                            *expected.entry(v.clone()).or_default() += 1;
                        }
                    }
                }
                let got: HashMap<String, u64> = counts[field].clone().into_iter().collect();
                assert_eq!(got, expected, "{t} {field}");
                // The most counted first, ties by value: what facets show.
                let mut ranked: Vec<(String, u64)> = expected.into_iter().collect();
                ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                for (n, top) in &tops {
                    let counts = searcher.search(&query, top).unwrap();
                    let mut got: Vec<(String, u64)> = counts[field].clone().into_iter().collect();
                    got.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
                    let want = &ranked[..ranked.len().min(*n)];
                    assert_eq!(got, want, "{t} {field} top {n}");
                }
            }
        }
    }
}
