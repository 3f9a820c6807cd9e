//! Facet counts over the whole matched set, from the fast fields of
//! `person`, `organization`, `place` and `source`.

use std::collections::HashMap;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::StrColumn;
use tantivy::{DocId, Score, SegmentReader};

/// Counts values of several string fast fields for every matched document.
pub struct FacetCollector {
    pub fields: Vec<String>,
}

/// value → count (FxHash: a facet of a large archive has tens of thousands
/// of values, and merging the segments' maps was mostly SipHash)
pub type ValueCounts = rustc_hash::FxHashMap<String, u64>;
/// field → value → count
pub type FacetCounts = HashMap<String, ValueCounts>;

pub struct FacetSegmentCollector {
    columns: Vec<(String, Option<StrColumn>, Vec<u64>)>,
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
            let column = segment.fast_fields().str(name)?;
            let n = column.as_ref().map(|c| c.num_terms()).unwrap_or(0);
            columns.push((name.clone(), column, vec![0u64; n]));
        }
        Ok(FacetSegmentCollector { columns })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<FacetCounts>) -> tantivy::Result<FacetCounts> {
        let mut out: FacetCounts = HashMap::new();
        for fruit in fruits {
            for (field, values) in fruit {
                let slot = out.entry(field).or_default();
                // Add the smaller map into the larger one.
                let (mut into, from) = if slot.len() >= values.len() {
                    (std::mem::take(slot), values)
                } else {
                    (values, std::mem::take(slot))
                };
                for (v, n) in from {
                    *into.entry(v).or_default() += n;
                }
                *slot = into;
            }
        }
        Ok(out)
    }
}

impl SegmentCollector for FacetSegmentCollector {
    type Fruit = FacetCounts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        for (_, column, counts) in &mut self.columns {
            if let Some(col) = column {
                for ord in col.term_ords(doc) {
                    if let Some(slot) = counts.get_mut(ord as usize) {
                        *slot += 1;
                    }
                }
            }
        }
    }

    fn harvest(self) -> FacetCounts {
        let mut out = HashMap::new();
        for (name, column, counts) in self.columns {
            let mut values = ValueCounts::default();
            if let Some(col) = column {
                // The counted ordinals in order, their strings read in one pass over
                // the dictionary: `ord_to_str` opens (and decompresses) a block per
                // call, which made a facet with thousands of values cost hundreds of
                // milliseconds.
                let counted: Vec<(u64, u64)> = counts
                    .iter()
                    .enumerate()
                    .filter(|(_, n)| **n > 0)
                    .map(|(ord, &n)| (ord as u64, n))
                    .collect();
                values.reserve(counted.len());
                let mut next = counted.iter().map(|&(_, n)| n);
                let read = col.dictionary().sorted_ords_to_term_cb(
                    counted.iter().map(|&(ord, _)| ord),
                    |bytes| {
                        let n = next.next().unwrap_or(0);
                        if let Ok(value) = std::str::from_utf8(bytes) {
                            values.insert(value.to_string(), n);
                        }
                        Ok(())
                    },
                );
                if let Err(e) = read {
                    tracing::warn!("facet {name}: dictionary read failed: {e}");
                }
            }
            out.insert(name, values);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tantivy::query::AllQuery;
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
            .search(
                &AllQuery,
                &FacetCollector {
                    fields: vec!["person".into()],
                },
            )
            .unwrap();
        let person = &counts["person"];
        assert_eq!(person.len(), 5_000);
        for i in 0..5_000 {
            assert_eq!(person[&name(i)], (i % 7 + 1) as u64, "{}", name(i));
        }
    }
}
