//! Builds the IPADIC system dictionary from Debian's `mecab-ipadic` source
//! (EUC-JP CSVs, `matrix.def`, `char.def`, `unk.def`) with lindera's own
//! `DictionaryBuilder`, into `OUT_DIR`, where `src/analysis/dictionary.rs`
//! embeds it. Nothing is downloaded. Cargo keeps `OUT_DIR` between builds,
//! so the ~3 s build happens once per clean target directory.
//!
//! IPADIC is built as kiji reads text: every word whose surface the
//! spelling-variant fold changes (`src/analysis/variants.rs`, included here
//! as it is: `サッカー` ends a katakana word of three letters and more, so
//! text holds it as `サッカ`; `ヴァイオリン` as `バイオリン`) is also entered
//! under its folded surface, with the same part of speech, base form,
//! reading and costs ([`write_folded_words`]). Without it such a word, as
//! normalised text holds it, was unknown to the dictionary.
//!
//! Beside it go compact tables of the fields kiji's analysis reads of every
//! system word (part of speech, conjugation, base form; see
//! [`write_word_tables`]), so that analysing text does not page in the
//! 32 MB of full word records.

use std::path::{Path, PathBuf};
use std::process::Command;

use lindera_dictionary::builder::DictionaryBuilder;
use lindera_dictionary::dictionary::metadata::Metadata;

#[path = "src/analysis/variants.rs"]
#[allow(dead_code)]
mod variants;

#[path = "src/analysis/ner/cluster_table.rs"]
mod cluster_table;

const DEFAULT_SOURCE: &str = "/usr/share/mecab/dic/ipadic";
const REQUIRED: [&str; 4] = ["matrix.def", "char.def", "unk.def", "Noun.csv"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/analysis/variants.rs");
    println!("cargo:rerun-if-changed=dictionary/ipadic-metadata.json");
    println!("cargo:rerun-if-env-changed=KIJI_IPADIC_DIR");

    write_cluster_table();

    let source = std::env::var_os("KIJI_IPADIC_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_SOURCE));
    println!(
        "cargo:rerun-if-changed={}",
        source.join("matrix.def").display()
    );

    let missing: Vec<&str> = REQUIRED
        .iter()
        .copied()
        .filter(|f| !source.join(f).is_file())
        .collect();
    if !missing.is_empty() {
        panic!(
            "\n\nkiji needs the IPADIC dictionary source to build, and {} lacks {}.\n\
             Install it with:   sudo apt-get install mecab-ipadic\n\
             or point KIJI_IPADIC_DIR at a folder holding IPADIC's EUC-JP CSVs, matrix.def, char.def and unk.def.\n\
             (Nothing is downloaded at build time.)\n",
            source.display(),
            missing.join(", ")
        );
    }

    let metadata_json = std::fs::read("dictionary/ipadic-metadata.json")
        .expect("dictionary/ipadic-metadata.json is part of the source tree");
    let metadata: Metadata =
        serde_json::from_slice(&metadata_json).expect("dictionary/ipadic-metadata.json is valid");

    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let output = out_dir.join("lindera-ipadic");
    if output.exists() {
        std::fs::remove_dir_all(&output).expect("can clear the previous dictionary build");
    }
    let staged = stage_source(&source, &out_dir.join("ipadic-source"));
    DictionaryBuilder::new(metadata)
        .build_dictionary(&staged, &output)
        .unwrap_or_else(|e| panic!("building IPADIC from {} failed: {e:?}", source.display()));

    write_word_tables(&output, &out_dir.join("kiji-words"));

    println!("cargo:rustc-env=LINDERA_WORKDIR={}", out_dir.display());
    println!(
        "cargo:rustc-env=KIJI_DICTIONARY_SOURCE={}",
        source.display()
    );
    println!(
        "cargo:rustc-env=KIJI_DICTIONARY_VERSION={}",
        source_version(&source)
    );
}

/// The entity model's word-cluster table ([`cluster_table`]), from
/// `data/word_clusters.tsv`, into `OUT_DIR/word_clusters.bin`.
fn write_cluster_table() {
    const SOURCE: &str = "data/word_clusters.tsv";
    println!("cargo:rerun-if-changed={SOURCE}");
    println!("cargo:rerun-if-changed=src/analysis/ner/cluster_table.rs");
    let text = std::fs::read_to_string(SOURCE)
        .unwrap_or_else(|e| panic!("{SOURCE} is part of the source tree: {e}"));
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("word_clusters.bin"), cluster_table::build(&text))
        .expect("can write the word-cluster table");
}

/// A copy of the IPADIC source in `staged`, with the folded entries of
/// [`write_folded_words`] beside its CSVs; IPADIC's surnames in
/// `surnames.txt` beside `staged` ([`write_surnames`]), its ordinary
/// katakana nouns in `katakana_nouns.txt` ([`write_katakana_nouns`]).
fn stage_source(source: &Path, staged: &Path) -> PathBuf {
    if staged.exists() {
        std::fs::remove_dir_all(staged).expect("can clear the previous staged source");
    }
    std::fs::create_dir_all(staged).expect("can create the staged source folder");
    let mut csvs = Vec::new();
    for entry in std::fs::read_dir(source).expect("can list the IPADIC source") {
        let path = entry.expect("can list the IPADIC source").path();
        let Some(name) = path.file_name() else {
            continue;
        };
        if path.is_file() {
            std::fs::copy(&path, staged.join(name)).expect("can copy the IPADIC source");
            if path.extension().is_some_and(|e| e == "csv") {
                csvs.push(path);
            }
        }
    }
    csvs.sort();
    let rows = read_rows(&csvs);
    let folded = write_folded_words(&rows, &staged.join("kiji-folded.csv"));
    println!("cargo:rustc-env=KIJI_DICTIONARY_FOLDED={folded}");
    let beside = staged.parent().expect("the staged source is in OUT_DIR");
    write_surnames(&rows, &beside.join("surnames.txt"));
    write_katakana_nouns(&rows, &beside.join("katakana_nouns.txt"));
    staged.to_path_buf()
}

/// The rows of `csvs` (IPADIC, EUC-JP) as (surface, the other fields); a
/// surface in quotes (holding a comma) is left out: none is katakana, a
/// variant or a surname.
fn read_rows(csvs: &[PathBuf]) -> Vec<(String, String)> {
    let euc = encoding_rs::EUC_JP;
    let mut rows: Vec<(String, String)> = Vec::new();
    for csv in csvs {
        let bytes = std::fs::read(csv).expect("can read an IPADIC CSV");
        let (text, _, bad) = euc.decode(&bytes);
        assert!(!bad, "{} is not EUC-JP", csv.display());
        for line in text.lines() {
            if let Some((surface, rest)) = line.split_once(',')
                && !surface.starts_with('"')
            {
                rows.push((surface.to_string(), rest.to_string()));
            }
        }
    }
    rows
}

/// Every row of `rows` whose surface `variants::fold` changes into one
/// IPADIC has no word of, again under the folded surface, into `out`
/// (EUC-JP). A folded surface IPADIC has already (國 → 国, ヵ月 → カ月,
/// コンピューター → コンピュータ) is left as IPADIC has it. Returns how many
/// rows it wrote.
fn write_folded_words(rows: &[(String, String)], out: &Path) -> usize {
    let euc = encoding_rs::EUC_JP;
    let known: std::collections::HashSet<&str> = rows.iter().map(|(s, _)| s.as_str()).collect();
    let mut folded = String::new();
    let mut written = 0;
    for (surface, rest) in rows {
        let fold = variants::fold(surface);
        if fold != *surface && !fold.is_empty() && !known.contains(fold.as_str()) {
            written += 1;
            folded.push_str(&fold);
            folded.push(',');
            folded.push_str(rest);
            folded.push('\n');
        }
    }
    let (bytes, _, bad) = euc.encode(&folded);
    assert!(!bad, "a folded IPADIC surface has no EUC-JP form");
    std::fs::write(out, bytes).expect("can write the folded IPADIC words");
    written
}

/// The surnames of IPADIC (`名詞,固有名詞,人名,姓`), one a line, sorted, into
/// `out` (UTF-8): `entity=小泉` finds 小泉純一郎 by them
/// (`kiji::index::entity_keys`).
fn write_surnames(rows: &[(String, String)], out: &Path) {
    let surnames = rows
        .iter()
        .filter(|(_, rest)| rest.contains(",名詞,固有名詞,人名,姓,"))
        .map(|(surface, _)| surface.as_str());
    write_word_list(surnames, out, "IPADIC's surnames");
}

/// `words`, each as written and folded (as the analysis keeps text: 髙橋 and
/// 高橋), one a line, sorted, into `out` (UTF-8).
fn write_word_list<'a>(words: impl Iterator<Item = &'a str>, out: &Path, what: &str) {
    let mut list: Vec<String> = words
        .flat_map(|word| [word.to_string(), variants::fold(word)])
        .collect();
    list.sort_unstable();
    list.dedup();
    std::fs::write(out, list.join("\n") + "\n").unwrap_or_else(|e| panic!("can write {what}: {e}"));
}

/// Fields of a word record that [`write_word_tables`] keeps: part of speech
/// (4 levels), conjugation type and form — the "head" — then the base form.
const HEAD_FIELDS: usize = 6;
const BASE_FIELD: usize = 6;

/// Writes, from the built dictionary's word records (`dict.wordsidx`: a u32
/// offset per word id into `dict.words`, where a u32 length precedes the
/// `\0`-joined fields), into `dir`:
/// - `heads.rs`: `HEADS`, the distinct heads (IPADIC has a few hundred), and
///   `WORDS`, the number of words;
/// - `heads.bin`: a u16 per word id, its head's index in `HEADS`;
/// - `bases.bin`: the distinct base forms, concatenated; the base forms of
///   inflecting words (verbs, adjectives, auxiliaries) first, so the ones
///   an index asks for lie together;
/// - `baserefs.bin`: a u32 per word id, `offset << 8 | length` of its base
///   form in `bases.bin`, or `u32::MAX` when it has none.
///
/// A field that is absent or not UTF-8 is kept as `None`, as
/// `Features::get` gives it.
fn write_word_tables(dictionary: &Path, dir: &Path) {
    let read = |name: &str| {
        std::fs::read(dictionary.join(name))
            .unwrap_or_else(|e| panic!("reading the built dictionary's {name}: {e}"))
    };
    let (index, data) = (read("dict.wordsidx"), read("dict.words"));
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let words = index.len() / 4;
    let records: Vec<Vec<Option<&str>>> = (0..words)
        .map(|id| {
            let offset = u32_at(&index, 4 * id) as usize;
            let len = u32_at(&data, offset) as usize;
            let record = &data[offset + 4..offset + 4 + len];
            record
                .split(|&b| b == 0)
                .take(BASE_FIELD + 1)
                .map(|f| std::str::from_utf8(f).ok())
                .collect()
        })
        .collect();
    fn field<'a>(r: &[Option<&'a str>], i: usize) -> Option<&'a str> {
        r.get(i).copied().flatten()
    }

    let mut heads: Vec<[Option<&str>; HEAD_FIELDS]> = Vec::new();
    let mut head_of = std::collections::HashMap::new();
    let mut head_ids = Vec::with_capacity(2 * words);
    for r in &records {
        let head: [Option<&str>; HEAD_FIELDS] = std::array::from_fn(|i| field(r, i));
        let id = *head_of.entry(head).or_insert_with(|| {
            heads.push(head);
            heads.len() - 1
        });
        let id = u16::try_from(id).expect("fewer than 65,536 distinct heads");
        head_ids.extend_from_slice(&id.to_le_bytes());
    }

    let inflecting = |r: &[Option<&str>]| matches!(field(r, 0), Some("動詞" | "形容詞" | "助動詞"));
    let mut bases = Vec::new();
    let mut base_at = std::collections::HashMap::new();
    let mut refs = vec![u32::MAX; words];
    for pass in [true, false] {
        for (id, r) in records.iter().enumerate() {
            let Some(base) = field(r, BASE_FIELD) else {
                continue;
            };
            if inflecting(r) != pass {
                continue;
            }
            let offset = *base_at.entry(base).or_insert_with(|| {
                bases.extend_from_slice(base.as_bytes());
                bases.len() - base.len()
            });
            assert!(
                offset < 1 << 24 && base.len() < 256,
                "base forms fit the 24-bit offsets and 8-bit lengths of baserefs.bin"
            );
            refs[id] = (offset as u32) << 8 | base.len() as u32;
        }
    }

    let mut source = format!(
        "// Generated by build.rs from the IPADIC build: the distinct heads\n\
         // (part of speech, conjugation) of the system dictionary's words.\n\
         pub(super) const WORDS: usize = {words};\n\
         pub(super) static HEADS: [[Option<&str>; {HEAD_FIELDS}]; {}] = [\n",
        heads.len()
    );
    for head in &heads {
        source.push_str(&format!("    {head:?},\n"));
    }
    source.push_str("];\n");
    std::fs::create_dir_all(dir).expect("can create the word tables' folder");
    let write = |name: &str, bytes: &[u8]| {
        std::fs::write(dir.join(name), bytes)
            .unwrap_or_else(|e| panic!("writing {name} of the word tables: {e}"))
    };
    write("heads.rs", source.as_bytes());
    write("heads.bin", &head_ids);
    write("bases.bin", &bases);
    let refs: Vec<u8> = refs.iter().flat_map(|r| r.to_le_bytes()).collect();
    write("baserefs.bin", &refs);
}

/// The source's version: Debian's package version when dpkg knows the folder,
/// else `KIJI_IPADIC_VERSION`, else "unknown".
fn source_version(source: &Path) -> String {
    println!("cargo:rerun-if-env-changed=KIJI_IPADIC_VERSION");
    if let Ok(v) = std::env::var("KIJI_IPADIC_VERSION") {
        return v;
    }
    if source == Path::new(DEFAULT_SOURCE)
        && let Ok(out) = Command::new("dpkg-query")
            .args(["-W", "-f=${Version}", "mecab-ipadic"])
            .output()
        && out.status.success()
        && !out.stdout.is_empty()
    {
        return format!(
            "mecab-ipadic {} (Debian)",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    "unknown".to_string()
}

/// The katakana words IPADIC knows as ordinary nouns only (every entry
/// `名詞,一般` or `名詞,サ変接続`: プランナー, マネジメント, not ブラウン, also a
/// name, nor ボルト, also a counter), as written and folded, one a line,
/// sorted, into `out` ([`write_word_list`]): the last part of a `・`-joined
/// katakana name that is one of them names a thing (`kiji::analysis::entities`).
fn write_katakana_nouns(rows: &[(String, String)], out: &Path) {
    let katakana = |s: &str| {
        s.chars().count() >= 2
            && s.chars()
                .all(|c| matches!(c, '\u{30A1}'..='\u{30FA}' | 'ー'))
    };
    let mut ordinary: std::collections::BTreeMap<&str, bool> = Default::default();
    for (surface, rest) in rows {
        if !katakana(surface) {
            continue;
        }
        let mut fields = rest.split(',').skip(3);
        let common =
            fields.next() == Some("名詞") && matches!(fields.next(), Some("一般" | "サ変接続"));
        *ordinary.entry(surface).or_insert(true) &= common;
    }
    let nouns = ordinary
        .into_iter()
        .filter(|&(_, common)| common)
        .map(|(surface, _)| surface);
    write_word_list(nouns, out, "IPADIC's katakana nouns");
}
