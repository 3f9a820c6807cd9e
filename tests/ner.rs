//! The fast entity tagger against `crfs` on real text: the same attributes
//! found and the same labels, sentence by sentence (stockmark NER set and
//! Wikinews articles; skipped with a reason when the shared data is absent).

use crate::common::{repo, wikinews, wikinews_articles};
use kiji::analysis::gazetteer::Gazetteer;
use kiji::analysis::ner::{Recognizer, Scoring, fast};
use kiji::analysis::normalize::normalize;
use kiji::analysis::{Analyzer, entities};

/// Entity labels tagged, and sentences where pruning changed the labels.
fn agree(texts: &[String]) -> (usize, usize) {
    let r = Recognizer::embedded()
        .expect("the model loads")
        .expect("a model is shipped");
    let analyzer =
        Analyzer::with_parts(Gazetteer::load(None).unwrap(), None, Default::default()).unwrap();
    let gaz = analyzer.gazetteer();
    let (mut tagged, mut differ) = (0, 0);
    for text in texts {
        let norm = normalize(text);
        let ms = analyzer.morphemes(&norm.text);
        let rules = entities::extract(&norm.text, &ms, gaz);
        assert_eq!(
            r.attribute_ids(&norm.text, &ms, &rules, gaz, false),
            r.attribute_ids(&norm.text, &ms, &rules, gaz, true),
            "attributes of {text}"
        );
        let labels = r.labels(&norm.text, &ms, &rules, gaz, Scoring::Exact);
        assert_eq!(
            labels,
            r.reference_labels(&norm.text, &ms, &rules, gaz),
            "labels of {text}"
        );
        let (same, pruned) = pruning_keeps_the_path(
            &labels,
            &r.labels(&norm.text, &ms, &rules, gaz, Scoring::Pruned),
            &fast::left_out_of(&ms, &rules),
        );
        assert!(same, "pruned labels of {text}");
        differ += usize::from(pruned);
        tagged += labels.iter().filter(|l| **l != "O").count();
    }
    (tagged, differ)
}

/// Whether the pruned tagger's labels keep to what Viterbi promises: they are
/// the exact labels whenever those label `O` every morpheme left out (`true`
/// otherwise too: then they may differ); and whether they differ.
fn pruning_keeps_the_path(exact: &[&str], pruned: &[&str], left_out: &[bool]) -> (bool, bool) {
    let all_o = exact
        .iter()
        .zip(left_out)
        .all(|(l, &out)| !out || *l == "O");
    let kept = pruned
        .iter()
        .zip(left_out)
        .all(|(l, &out)| !out || *l == "O");
    let differ = exact != pruned;
    (kept && (!all_o || !differ), differ)
}

#[test]
fn fast_tagger_gives_the_crfs_labels_on_stockmark() {
    let path = repo().join("../shared/eval/ner/stockmark-dev.jsonl");
    if !path.is_file() {
        eprintln!("SKIPPED: no stockmark set at {}", path.display());
        return;
    }
    let texts: Vec<String> = kiji::analysis::ner::gold::read_jsonl(&path)
        .unwrap()
        .into_iter()
        .map(|s| s.text)
        .collect();
    assert!(texts.len() > 2000);
    let (tagged, differ) = agree(&texts);
    eprintln!(
        "{tagged} labels tagged; pruning changed {differ} of {} sentences",
        texts.len()
    );
    assert!(tagged > 5000);
    assert!(
        differ * 100 < texts.len(),
        "pruning changed {differ} sentences"
    );
}

#[test]
fn fast_tagger_gives_the_crfs_labels_on_wikinews() {
    let Some(path) = wikinews() else { return };
    let texts: Vec<String> = wikinews_articles(&path)
        .into_iter()
        .take(300)
        .flat_map(|a| [a.title, a.body])
        .collect();
    let (tagged, differ) = agree(&texts);
    eprintln!(
        "{tagged} labels tagged; pruning changed {differ} of {} texts",
        texts.len()
    );
    assert!(tagged > 1000);
    assert!(differ * 20 < texts.len(), "pruning changed {differ} texts");
}
