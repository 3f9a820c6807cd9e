//! Builds the IPADIC system dictionary from Debian's `mecab-ipadic` source
//! (EUC-JP CSVs, `matrix.def`, `char.def`, `unk.def`) with lindera's own
//! `DictionaryBuilder`, into `OUT_DIR`, where `src/analysis/dictionary.rs`
//! embeds it. Nothing is downloaded. Cargo keeps `OUT_DIR` between builds,
//! so the ~3 s build happens once per clean target directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use lindera_dictionary::builder::DictionaryBuilder;
use lindera_dictionary::dictionary::metadata::Metadata;

const DEFAULT_SOURCE: &str = "/usr/share/mecab/dic/ipadic";
const REQUIRED: [&str; 4] = ["matrix.def", "char.def", "unk.def", "Noun.csv"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=dictionary/ipadic-metadata.json");
    println!("cargo:rerun-if-env-changed=KIJI_IPADIC_DIR");

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
    DictionaryBuilder::new(metadata)
        .build_dictionary(&source, &output)
        .unwrap_or_else(|e| panic!("building IPADIC from {} failed: {e:?}", source.display()));

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
