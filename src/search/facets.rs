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

/// field → value → count
pub type FacetCounts = HashMap<String, HashMap<String, u64>>;

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
                for (v, n) in values {
                    *slot.entry(v).or_default() += n;
                }
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
            let mut values = HashMap::new();
            if let Some(col) = column {
                let mut buf = String::new();
                for (ord, &n) in counts.iter().enumerate() {
                    if n > 0 && col.ord_to_str(ord as u64, &mut buf).unwrap_or(false) {
                        values.insert(std::mem::take(&mut buf), n);
                    }
                }
            }
            out.insert(name, values);
        }
        out
    }
}
