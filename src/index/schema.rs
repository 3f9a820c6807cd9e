//! The one schema. Each text field is indexed twice: as IPADIC morphemes
//! (`ja`, for whole-word matches and ranking) and as CJK bigrams
//! (`ja_bigram`, for exact-substring recall). The whole article, with its
//! entities, is stored once as JSON in `doc`.

use tantivy::schema::{
    FAST, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};

use crate::analysis::{BIGRAM, MORPH};

/// Field handles, resolved once.
#[derive(Debug, Clone)]
pub struct Fields {
    /// The article id (exact, for upserts and `/articles/{id}`).
    pub id: tantivy::schema::Field,
    pub title: tantivy::schema::Field,
    pub title_bigram: tantivy::schema::Field,
    pub body: tantivy::schema::Field,
    pub body_bigram: tantivy::schema::Field,
    /// The body's first sentence, morphemes again (ranking counts the
    /// words of an article's opening twice; frequencies only).
    pub lead: tantivy::schema::Field,
    /// Publication time, seconds since the epoch (range filters, date sort, timelines).
    pub published: tantivy::schema::Field,
    /// The publisher (`source` filter and facet).
    pub source: tantivy::schema::Field,
    /// Entity keys: `key` and `type:key` for every canonical name (and the
    /// surname of `・`-joined person names), normalised. Entity filters.
    pub entity: tantivy::schema::Field,
    /// Canonical names by type, as displayed (facets).
    pub person: tantivy::schema::Field,
    pub organization: tantivy::schema::Field,
    pub place: tantivy::schema::Field,
    /// The file an article was read from (watch mode deletes by it).
    pub file: tantivy::schema::Field,
    /// The stored article + entities, JSON. The only stored field
    /// (`super::DocStores` reads it from the stored bytes).
    pub doc: tantivy::schema::Field,
    /// Near-duplicate detection (`crate::dedup`): the article's duplicate
    /// group key (exact and fast), its LSH band keys, its MinHash signature.
    /// The band and signature fields carry their version in their names
    /// (signature `_v3`: one-permutation hashing, stored as 32 words of a
    /// fixed-width column — `_v2` was a dictionary-encoded bytes column, whose
    /// every read decompressed and walked a block; bands `_v3`: 17 bands of 2
    /// rows, before 42 of 3): an index holding signatures or bands of another
    /// kind does not open (`kiji ingest --reanalyze` recomputes them).
    pub dedup_group: tantivy::schema::Field,
    pub dedup_band: tantivy::schema::Field,
    pub dedup_signature: tantivy::schema::Field,
}

fn text(tokenizer: &str) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(tokenizer)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    )
}

/// The name of the signature field (read as a fast field by name).
pub const SIGNATURE_FIELD: &str = "dedup_signature_v3";
/// The name of the LSH band field.
pub const BAND_FIELD: &str = "dedup_band_v3";

/// Builds the schema and its field handles.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING),
        title: b.add_text_field("title", text(MORPH)),
        title_bigram: b.add_text_field("title_bigram", text(BIGRAM)),
        body: b.add_text_field("body", text(MORPH)),
        body_bigram: b.add_text_field("body_bigram", text(BIGRAM)),
        lead: b.add_text_field(
            "lead",
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(MORPH)
                    .set_index_option(IndexRecordOption::WithFreqs),
            ),
        ),
        published: b.add_i64_field("published", INDEXED | FAST),
        source: b.add_text_field("source", STRING | FAST),
        entity: b.add_text_field("entity", STRING),
        person: b.add_text_field("person", STRING | FAST),
        organization: b.add_text_field("organization", STRING | FAST),
        place: b.add_text_field("place", STRING | FAST),
        file: b.add_text_field("file", STRING),
        doc: b.add_text_field("doc", STORED),
        dedup_group: b.add_text_field("dedup_group", STRING | FAST),
        dedup_band: b.add_u64_field(BAND_FIELD, INDEXED),
        dedup_signature: b.add_u64_field(SIGNATURE_FIELD, FAST),
    };
    (b.build(), fields)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_article_is_the_only_stored_value() {
        let (schema, fields) = super::build();
        let stored: Vec<_> = schema
            .fields()
            .filter(|(_, entry)| entry.is_stored())
            .map(|(field, _)| field)
            .collect();
        assert_eq!(stored, vec![fields.doc]);
    }
}
