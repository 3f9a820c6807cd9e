//! Query understanding: which units natural Japanese becomes (golden), and
//! the variant pairs of the README finding the same articles.

use crate::common::analyzer;
use kiji::search::query::{QueryPlan, parse};

/// One line per unit: `clause → unit [terms] (base)`.
fn render(q: &str) -> String {
    let plan = QueryPlan::new(&analyzer(), &parse(q).unwrap()).unwrap();
    let mut out = format!("{q}\n");
    for c in plan.groups.iter().flatten() {
        for u in &c.units {
            let terms: Vec<String> = u.terms.iter().map(|(p, t)| format!("{p}:{t}")).collect();
            out.push_str(&format!(
                "  {}{}{} [{}]{}\n",
                if c.clause.negated { "-" } else { "" },
                if c.clause.quoted { "\"" } else { "" },
                u.text,
                terms.join(" "),
                u.base
                    .as_ref()
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            ));
        }
    }
    out
}

#[test]
fn golden_units_of_natural_queries() {
    let rendered: String = [
        "北朝鮮",
        "経済産業省",
        "北朝鮮のロシア派兵",
        "\"北朝鮮の派兵\" -中国",
        "日本のネットニュースサイト運営会社で、J-CASTニュースの運営と配信を行っているのは？",
        "ジェイ・キャストのコンテンツの特徴とは。",
        "訃報ジェラルド・フォード元米大統領",
        "台風20号、南シナ海北部をゆっくり横断",
        "新しく浮上した政治資金疑惑で舛添東京都知事が会見で説明へ",
        "コンピューターとヴァイオリンの齋藤さん",
        "する",
        "Yahoo ! CEOに就任したのはいつか？",
    ]
    .iter()
    .map(|q| render(q))
    .collect();
    insta::assert_snapshot!("query_units", rendered);
}

/// Ids of the articles `q` finds (the library's search, default op).
fn ids(engine: &kiji::search::Engine, q: &str) -> Vec<String> {
    found(engine, q, &[])
}

/// An index of `(id, title, body)` articles dated 2024-01-01.
fn index_of(articles: &[(&str, &str, &str)]) -> crate::common::TestIndex {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("articles.jsonl");
    let lines: String = articles
        .iter()
        .map(|(id, title, body)| {
            serde_json::json!({"id": id, "title": title, "published": "2024-01-01", "body": body})
                .to_string()
                + "\n"
        })
        .collect();
    std::fs::write(&file, lines).unwrap();
    crate::common::index_with(&[file])
}

#[test]
fn each_variant_pair_finds_the_same_articles() {
    let t = index_of(&[
        ("a1", "新型コンピューターを発表", "サーバーとユーザーの話。"),
        ("a2", "コンピュータの歴史", "サーバの更新。"),
        (
            "a3",
            "ヴァイオリンの演奏会",
            "ヴィオラも。インタヴューに答えた。",
        ),
        ("a4", "バイオリン教室", "インタビューに答えた。"),
        ("a5", "齋藤氏と髙橋氏", "山﨑氏と渡邊氏、霞ヶ関で。"),
        ("a6", "斎藤氏と高橋氏", "山崎氏と渡辺氏、霞ケ関で。"),
        ("a7", "齊藤氏", "渡邉氏が語った。"),
    ]);
    for (a, b) in [
        ("コンピューター", "コンピュータ"),
        ("サーバー", "サーバ"),
        ("ヴァイオリン", "バイオリン"),
        ("インタヴュー", "インタビュー"),
        ("齋藤", "斎藤"),
        ("齊藤", "斎藤"),
        ("髙橋", "高橋"),
        ("山﨑", "山崎"),
        ("渡邊", "渡辺"),
        ("渡邉", "渡辺"),
        ("霞ヶ関", "霞ケ関"),
    ] {
        let (x, y) = (ids(&t.engine(), a), ids(&t.engine(), b));
        assert!(x.len() >= 2, "{a}: {x:?}");
        assert_eq!(x, y, "{a} / {b}");
    }
    // The highlight is on the spelling the article uses.
    let res = search(&t.engine(), "コンピュータ");
    let a1 = res.hits.iter().find(|h| h.id == "a1").unwrap();
    assert!(
        a1.title_html.contains("<mark>コンピューター</mark>"),
        "{}",
        a1.title_html
    );
}

/// The answer to `q` alone.
fn search(engine: &kiji::search::Engine, q: &str) -> kiji::search::SearchResponse {
    let pairs = vec![("q".to_string(), q.to_string())];
    let r = kiji::search::SearchRequest::from_pairs(&pairs, &[]).unwrap();
    engine.search(&r).unwrap()
}

#[test]
fn an_article_counts_a_person_named_in_full_and_by_surname_once() {
    let t = index_of(&[
        (
            "p1",
            "小泉首相、改革を訴え",
            "小泉純一郎首相は会見した。小泉首相は改革を訴えた。",
        ),
        (
            "p2",
            "ジャクソン氏の公演",
            "マイケル・ジャクソン氏が歌った。",
        ),
    ]);
    let pairs = vec![("facets".to_string(), "person".to_string())];
    let r = kiji::search::SearchRequest::from_pairs(&pairs, &[]).unwrap();
    let res = t.engine().search(&r).unwrap();
    let persons: Vec<(String, u64)> = res.facets["person"]
        .iter()
        .map(|f| (f.value.clone(), f.count))
        .collect();
    assert_eq!(
        persons,
        [
            ("マイケル・ジャクソン".to_string(), 1),
            ("小泉純一郎".to_string(), 1)
        ]
    );
    let by = |key, name| found(&t.engine(), "", &[(key, name)]);
    assert_eq!(by("person", "小泉純一郎"), ["p1"]);
    // the family name finds the person (as ジャクソン finds マイケル・ジャクソン)
    assert_eq!(by("entity", "小泉"), ["p1"]);
    assert_eq!(by("entity", "ジャクソン"), ["p2"]);
    assert!(by("person", "小泉").is_empty());
}

/// The snippets' HTML of every hit of `q`.
fn snippets_html(engine: &kiji::search::Engine, q: &str) -> Vec<String> {
    search(engine, q)
        .hits
        .into_iter()
        .flat_map(|h| h.snippets.into_iter().map(|s| s.html))
        .collect()
}

/// Ids and total of `q` with extra parameters.
fn found(engine: &kiji::search::Engine, q: &str, extra: &[(&str, &str)]) -> Vec<String> {
    let mut pairs = vec![
        ("q".to_string(), q.to_string()),
        ("limit".into(), "100".into()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let r = kiji::search::SearchRequest::from_pairs(&pairs, &[]).unwrap();
    let res = engine.search(&r).unwrap();
    let mut ids: Vec<String> = res.hits.into_iter().map(|h| h.id).collect();
    ids.sort();
    assert_eq!(ids.len(), res.total, "{q}");
    ids
}

/// A unit finds every article that holds it, also where the article's run
/// of CJK characters goes on past a character the unit has alone at its
/// end (`3月` in `3月頃`) or began before one it has alone at its start
/// (`第3` in `の第3`); `op=or` finds at least what `min_match=1` finds, one
/// character included; a unit written twice counts once; there is a bound on
/// units; an empty phrase is an error.
#[test]
fn units_find_their_substrings_and_queries_have_bounds() {
    let t = index_of(&[
        ("e1", "春の話", "3月頃に桜が咲いた。"),
        ("e2", "年度末", "2008年度の予算は。3月末に決まった。"),
        ("e3", "大会", "大会の第3回は雨だった。"),
        ("e4", "猫の日", "猫が好きだ。"),
        ("e5", "犬の日", "犬が好きだ。"),
        ("e6", "雪", "ロシアで雪。"),
        ("e7", "午後", "午後3時半に始まる。"),
    ]);
    let e = t.engine();
    assert_eq!(found(&e, "3月", &[]), ["e1", "e2"]);
    assert_eq!(found(&e, "2008年", &[]), ["e2"]);
    assert_eq!(found(&e, "第3", &[]), ["e3"]);
    assert_eq!(found(&e, "午後3時", &[]), ["e7"]);
    // one-character units with op=or: what min_match=1 finds, never everything
    for q in ["猫 犬", "雪 ロシア"] {
        let any = found(&e, q, &[("min_match", "1")]);
        assert_eq!(found(&e, q, &[("op", "or")]), any, "{q}");
        assert_eq!(any.len(), if q == "猫 犬" { 2 } else { 1 }, "{q}");
    }
    assert_eq!(found(&e, "猫 猫 猫", &[]), found(&e, "猫", &[]));
    let plan = |q: &str| {
        kiji::search::query::QueryPlan::new(&crate::common::analyzer(), &parse(q).unwrap())
    };
    assert_eq!(plan("北 北 北").unwrap().groups.len(), 1);
    let many: Vec<String> = (0..65)
        .map(|i| char::from_u32(0x4e00 + 2 * i).unwrap().to_string())
        .collect();
    let err = plan(&many.join(" ")).unwrap_err().to_string();
    assert!(err.contains("at most 64"), "{err}");
    assert!(plan(&many[..64].join(" ")).is_ok());
    for q in ["\"\"", "title:\"\"", "北 \" \""] {
        let err = parse(q).unwrap_err().to_string();
        assert!(err.contains("is empty"), "{q}: {err}");
    }
}

/// A symbol inside a number or a Latin word is part of it (`7.4` is not
/// `7月4日`, `5%` is not `5日`, also before `、` or `)`), and a phrase
/// matches with or without spaces between its words, never with another
/// word between them (`"2008 北京"`).
#[test]
fn symbols_in_numbers_and_spaces_in_phrases_match_as_written() {
    let t = index_of(&[
        ("s1", "地震", "マグニチュード7.4の地震があった。"),
        ("s2", "記念日", "7月4日は独立記念日だ。"),
        ("s3", "税率", "税率は5%、前年は3%だった。"),
        ("s4", "日付", "5日に決まった。"),
        ("s5", "人数", "参加者は1,000人(約50%)に上った。"),
        ("s6", "人数", "参加者は1人、000番は欠番だ。"),
        ("s7", "五輪", "2008北京オリンピックが開かれた。"),
        ("s8", "五輪", "2008年北京で五輪が開かれた。"),
        ("s9", "五輪", "2008 北京大会の記録。"),
        ("s10", "時刻", "試合は3:00に始まり、2-1で勝った。"),
        ("s11", "時刻", "3月00日ではない。2月1日でもない。"),
    ]);
    let e = t.engine();
    assert_eq!(ids(&e, "7.4"), ["s1"]);
    assert_eq!(ids(&e, "5%"), ["s3"]);
    assert_eq!(ids(&e, "\"5%\""), ["s3"]);
    assert_eq!(ids(&e, "50%"), ["s5"]);
    assert_eq!(ids(&e, "1,000人"), ["s5"]);
    assert_eq!(ids(&e, "\"3:00\""), ["s10"]);
    assert_eq!(ids(&e, "2-1"), ["s10"]);
    assert_eq!(ids(&e, "\"2008 北京\""), ["s7", "s9"]);
    assert_eq!(ids(&e, "\"2008北京\""), ["s7", "s9"]);
    // No match as the end of a longer word joined by an ASCII symbol; `、`
    // and `・` separate words.
    let t2 = index_of(&[
        ("c1", "率", "成長率は72.5%だった。"),
        ("c2", "額", "売上は1,200億円に上った。"),
        ("c3", "日程", "15・16日に開かれ、100m、200mに出た。"),
    ]);
    let e2 = t2.engine();
    assert!(ids(&e2, "5%").is_empty());
    assert_eq!(ids(&e2, "72.5%"), ["c1"]);
    assert_eq!(ids(&e2, "200"), ["c3"]);
    assert_eq!(ids(&e2, "1,200億円"), ["c2"]);
    assert_eq!(ids(&e2, "16日"), ["c3"]);
    // op=or: such a word matches whole, never by its digits
    assert_eq!(found(&e, "7.4", &[("op", "or")]), ["s1"]);
    assert_eq!(found(&e, "1,000人 5%", &[("op", "or")]), ["s3", "s5"]);
    // `~` is a range mark, as `〜` is: the number after it stands alone.
    let t3 = index_of(&[
        ("r1", "計画", "2025~30年の計画。"),
        ("r2", "日程", "7月14～17日に開く。"),
        ("r3", "計画", "2030年の計画。"),
    ]);
    let e3 = t3.engine();
    assert_eq!(ids(&e3, "30年"), ["r1"]);
    assert_eq!(ids(&e3, "17日"), ["r2"]);
}

/// A quoted phrase is matched whole with `op=or` too (its words, の among
/// them, are no way to match alone), and a verb typed in an inflection
/// whose stem is one kanji (見た, 出て) matches that verb, not every
/// article holding the kanji (会見, 出身).
#[test]
fn phrases_and_one_kanji_verbs_match_what_they_say() {
    let t = index_of(&[
        ("p1", "首相", "日本の首相が訪米した。"),
        ("p2", "会見", "記者会見で首相の日程が示された。"),
        ("p3", "出身", "東京出身の選手が日本の代表に選ばれた。"),
        ("p4", "映画", "昨日は映画を見た。家を出て駅に向かった。"),
        ("p5", "映画", "映画を見る人が増えた。"),
        ("p6", "競馬", "2年連続2着に敗れた。"),
        ("p7", "服", "新しい服を着た。"),
        ("p8", "新種", "新種と見られる動物が見つかった。"),
        ("p9", "津波", "津波の高さは3mで、前より高かった。"),
        ("p10", "堤防", "堤防の高さを測る。"),
        ("p11", "発表", "事件を受け政府は誤発注を発表した。"),
        ("p12", "山", "山は高い。"),
    ]);
    let e = t.engine();
    assert_eq!(found(&e, "\"日本の首相\"", &[("op", "or")]), ["p1"]);
    assert_eq!(
        found(&e, "\"日本の首相\" 会見", &[("op", "or")]),
        ["p1", "p2"]
    );
    assert_eq!(ids(&e, "見た"), ["p4", "p5", "p8"]);
    assert_eq!(ids(&e, "見る"), ["p4", "p5", "p8"]);
    assert_eq!(ids(&e, "出て"), ["p4"]);
    // 着 of 着た is no counter (2着).
    assert_eq!(ids(&e, "着た"), ["p7"]);
    // A kanji stem IPADIC cuts out of a noun (高|さ, 誤|発注) is part of
    // it, in the query and in the index: 高さ is not a form of 高い.
    assert_eq!(ids(&e, "高さ"), ["p10", "p9"]);
    assert_eq!(ids(&e, "高かった"), ["p12", "p9"]);
    assert_eq!(ids(&e, "誤る"), Vec::<String>::new());
    assert_eq!(ids(&e, "誤発注"), ["p11"]);
    // A stem written with its ending is the verb, a noun after it or not.
    assert_eq!(ids(&e, "受ける"), ["p11"]);
    // A verb with a suffix verb is highlighted as typed, never as its stem
    // inside another word (見 of 会見).
    let plan = QueryPlan::new(&analyzer(), &parse("見られる").unwrap()).unwrap();
    let texts: Vec<&str> = plan
        .positive_units()
        .map(|(u, _)| u.text.as_str())
        .collect();
    assert_eq!(texts, ["見られる"]);
    // Every inflection that made an article match is marked, as written.
    let html = snippets_html(&e, "見た");
    assert!(
        html.iter().any(|h| h.contains("<mark>見た</mark>")),
        "{html:?}"
    );
    assert!(
        html.iter().any(|h| h.contains("<mark>見る</mark>")),
        "{html:?}"
    );
    assert!(
        html.iter().any(|h| h.contains("<mark>見られる</mark>")),
        "{html:?}"
    );
    assert!(html.iter().all(|h| !h.contains("会<mark>")), "{html:?}");
    // A stem IPADIC cuts out of a noun (高|さ) is not marked; the
    // inflection next to it is.
    let html = snippets_html(&e, "高い");
    assert!(
        html.iter().any(|h| h.contains("<mark>高かった</mark>")),
        "{html:?}"
    );
    assert!(
        html.iter().all(|h| !h.contains("<mark>高</mark>さ")),
        "{html:?}"
    );
}
