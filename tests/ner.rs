//! The fast entity tagger against `crfs` on real text: the same attributes
//! found and the same labels, sentence by sentence (stockmark NER set and
//! Wikinews articles; skipped with a reason when the shared data is absent).

use crate::common::{repo, wikinews, wikinews_articles};
use kiji::analysis::gazetteer::Gazetteer;
use kiji::analysis::ner::Recognizer;
use kiji::analysis::normalize::normalize;
use kiji::analysis::{Analyzer, entities};

fn agree(texts: &[String]) -> usize {
    let r = Recognizer::embedded()
        .expect("the model loads")
        .expect("a model is shipped");
    let analyzer =
        Analyzer::with_parts(Gazetteer::load(None).unwrap(), None, Default::default()).unwrap();
    let gaz = analyzer.gazetteer();
    let mut tagged = 0;
    for text in texts {
        let norm = normalize(text);
        let ms = analyzer.morphemes(&norm.text);
        let rules = entities::extract(&norm.text, &ms, gaz);
        assert_eq!(
            r.attribute_ids(&norm.text, &ms, &rules, gaz, false),
            r.attribute_ids(&norm.text, &ms, &rules, gaz, true),
            "attributes of {text}"
        );
        let labels = r.labels(&norm.text, &ms, &rules, gaz);
        assert_eq!(
            labels,
            r.reference_labels(&norm.text, &ms, &rules, gaz),
            "labels of {text}"
        );
        tagged += labels.iter().filter(|l| **l != "O").count();
    }
    tagged
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
    assert!(agree(&texts) > 5000);
}

#[test]
fn fast_tagger_gives_the_crfs_labels_on_wikinews() {
    let Some(path) = wikinews() else { return };
    let texts: Vec<String> = wikinews_articles(&path)
        .into_iter()
        .take(300)
        .flat_map(|a| [a.title, a.body])
        .collect();
    assert!(agree(&texts) > 1000);
}
