//! `kiji analyze` on the seed article: golden snapshots and the entity
//! results a news researcher relies on.

use std::collections::BTreeSet;

use crate::common::{analyzer, seed_text};
use kiji::analysis::Analysis;

fn entities_of(a: &Analysis, kind: &str) -> BTreeSet<String> {
    a.entities
        .iter()
        .filter(|e| serde_json::to_value(e.kind).unwrap() == kind)
        .map(|e| e.canonical.clone())
        .collect()
}

#[test]
fn golden_tokens_of_the_seed() {
    let a = analyzer().analyze(&seed_text());
    let rendered: String = a
        .tokens
        .iter()
        .map(|t| {
            format!(
                "{}\t{}..{}\t{}\t{}\n",
                t.text,
                t.start,
                t.end,
                t.pos.join(","),
                t.base
            )
        })
        .collect();
    insta::assert_snapshot!("seed_tokens", rendered);
}

fn render_entities(a: &Analysis) -> String {
    a.entities
        .iter()
        .map(|e| {
            format!(
                "{}\t{}..{}\t{}\t{}\n",
                e.text,
                e.start,
                e.end,
                serde_json::to_value(e.kind).unwrap().as_str().unwrap(),
                e.canonical
            )
        })
        .collect()
}

#[test]
fn golden_entities_of_the_seed() {
    let rendered = render_entities(&analyzer().analyze(&seed_text()));
    insta::assert_snapshot!("seed_entities", rendered);
}

/// The analyser with the entity model on (`entities.model = true`): its
/// entities of the seed, and the rules' guards kept (米 "rice", 今朝).
#[test]
fn golden_entities_of_the_seed_with_the_model() {
    let config = kiji::config::Config {
        entities: kiji::config::EntitiesConfig {
            model: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let with_model = config
        .analyzer()
        .expect("the analyser with the model loads");
    let rendered = render_entities(&with_model.analyze(&seed_text()));
    insta::assert_snapshot!("seed_entities_with_model", rendered);
    for text in [
        "今朝、米を炊いた",
        "日中は暑かったが、その中でも米の出来は良い。",
    ] {
        let a = with_model.analyze(text);
        assert!(a.entities.is_empty(), "{text}: {:?}", a.entities);
    }
}

/// `entities.addresses`: an address comes out of the analysis whole (the
/// default, with the model or without it) or in units; the index counts
/// its units either way.
#[test]
fn addresses_are_reported_whole_or_in_units_and_indexed_in_units() {
    use kiji::analysis::ner::merge::Addresses;
    let text = "6日夕方、東京都港区にある自宅で倒れているのが見つかった。";
    let places = |model: bool, addresses: Addresses| -> (Vec<String>, Vec<String>) {
        let config = kiji::config::Config {
            entities: kiji::config::EntitiesConfig {
                model,
                addresses,
                ..Default::default()
            },
            ..Default::default()
        };
        let analyzer = config.analyzer().expect("the analyser loads");
        assert_eq!(analyzer.info().entity_addresses, model.then_some(addresses));
        let reported = analyzer
            .analyze(text)
            .entities
            .into_iter()
            .filter(|e| e.kind.as_str() == "place")
            .map(|e| e.text)
            .collect();
        let (_, indexed) = analyzer.index_analysis(text);
        let indexed = indexed
            .into_iter()
            .filter(|m| m.kind.as_str() == "place")
            .map(|m| m.canonical)
            .collect();
        (reported, indexed)
    };
    assert_eq!(
        kiji::config::EntitiesConfig::default().addresses,
        Addresses::Whole
    );
    for model in [true, false] {
        let (whole, indexed) = places(model, Addresses::Whole);
        assert_eq!(whole, ["東京都港区"], "model {model}");
        assert_eq!(indexed, ["東京都", "港区"], "model {model}");
        let (parts, indexed) = places(model, Addresses::Parts);
        assert_eq!(parts, ["東京都", "港区"], "model {model}");
        assert_eq!(indexed, ["東京都", "港区"], "model {model}");
    }
}

#[test]
fn offsets_are_code_points_of_the_input() {
    let text = seed_text();
    let chars: Vec<char> = text.chars().collect();
    let a = analyzer().analyze(&text);
    for t in &a.tokens {
        let s: String = chars[t.start..t.end].iter().collect();
        assert_eq!(s, t.text);
    }
    for e in &a.entities {
        let s: String = chars[e.start..e.end].iter().collect();
        assert_eq!(s, e.text);
    }
}

#[test]
fn seed_people_places_and_organisations() {
    let a = analyzer().analyze(&seed_text());
    let people = entities_of(&a, "person");
    for p in ["プーチン", "金正恩", "習近平", "ゼレンスキー", "金正日"] {
        assert!(people.contains(p), "person {p} missing from {people:?}");
    }
    let places = entities_of(&a, "place");
    for p in [
        "ロシア",
        "北朝鮮",
        "ウクライナ",
        "中国",
        "ウズベキスタン",
        "カザフスタン",
    ] {
        assert!(places.contains(p), "place {p} missing from {places:?}");
    }
    let orgs = entities_of(&a, "organization");
    for o in [
        "中国共産党",
        "上海協力機構",
        "戦略国際問題研究所",
        "ボイスオブアメリカ",
    ] {
        assert!(orgs.contains(o), "organization {o} missing from {orgs:?}");
    }
    // CSIS and VOA are the same entities, not separate ones.
    assert!(!orgs.contains("CSIS") && !orgs.contains("VOA"), "{orgs:?}");
    // 中共 is the Chinese Communist Party; 中ロ names China.
    let chugoku_from_abbrev = a
        .entities
        .iter()
        .any(|e| e.text == "中" && e.canonical == "中国");
    assert!(chugoku_from_abbrev, "中ロ / 中露 should yield 中国");
    assert!(
        a.entities
            .iter()
            .any(|e| e.text == "中共" && e.canonical == "中国共産党")
    );
}

#[test]
fn rochou_yields_russia_and_north_korea_inside_it() {
    let a = analyzer().analyze("露朝の長期的な利害一致");
    let found: Vec<(String, usize, usize)> = a
        .entities
        .iter()
        .map(|e| (e.canonical.clone(), e.start, e.end))
        .collect();
    assert_eq!(
        found,
        vec![("ロシア".to_string(), 0, 1), ("北朝鮮".to_string(), 1, 2)]
    );
}

/// 中ロ is China and Russia wherever it stands (IPADIC tags its ロ an
/// organisation: 中ロ首脳会談 gave an organisation ロ and no Russia), and a
/// name's tail (ダニーロ) is no organisation ロ.
#[test]
fn china_russia_abbreviations_are_places_in_every_context() {
    for text in [
        "米欧と中ロの立場の違い",
        "中ロ首脳会談が開かれた。",
        "中ロ両国は合意した。",
        "日ロ首脳会談",
        "中ロ関係",
        "日ロ平和条約",
        "中印ロの首脳が集まった",
        "プーチン露大統領は述べた",
        "親ロ派の勢力",
        "親露派の勢力",
    ] {
        let a = analyzer().analyze(text);
        let places = entities_of(&a, "place");
        assert!(places.contains("ロシア"), "{text}: {:?}", a.entities);
        assert!(
            entities_of(&a, "organization").is_empty(),
            "{text}: {:?}",
            a.entities
        );
    }
    let a = analyzer().analyze("ダニーロ選手が得点した。");
    assert!(
        !entities_of(&a, "organization").contains("ロ"),
        "{:?}",
        a.entities
    );
}

#[test]
fn rice_and_morning_are_not_places() {
    let a = analyzer().analyze("今朝、米を炊いた");
    assert!(a.entities.is_empty(), "{:?}", a.entities);
    let a = analyzer().analyze("日中は暑かったが、その中でも米の出来は良い。");
    assert!(a.entities.is_empty(), "{:?}", a.entities);
}

/// The persons found in `text`, in order.
fn persons(text: &str) -> impl Iterator<Item = kiji::analysis::EntityOut> {
    analyzer()
        .analyze(text)
        .entities
        .into_iter()
        .filter(|e| serde_json::to_value(e.kind).unwrap() == "person")
}

/// The persons found in `text`, as written there.
fn persons_in(text: &str) -> Vec<String> {
    persons(text).map(|e| e.text).collect()
}

/// The mentions of type `kind` found in `text`, as written there, in order.
fn mentions_in(text: &str, kind: &str) -> Vec<String> {
    analyzer()
        .analyze(text)
        .entities
        .into_iter()
        .filter(|e| serde_json::to_value(e.kind).unwrap() == kind)
        .map(|e| e.text)
        .collect()
}

/// Asserts the persons found in each text, as written there.
fn assert_persons<const N: usize>(cases: [(&str, Vec<&str>); N]) {
    for (text, names) in cases {
        assert_eq!(persons_in(text), names, "{text}");
    }
}

#[test]
fn titles_and_honorifics_are_stripped() {
    for (text, name) in [
        ("プーチン氏は述べた", "プーチン"),
        ("プーチン大統領は述べた", "プーチン"),
        ("金正恩氏が語った", "金正恩"),
        ("金正恩総書記が視察した", "金正恩"),
    ] {
        assert_eq!(persons_in(text), vec![name], "{text}");
    }
    let a = analyzer().analyze("大統領は会見で述べた");
    assert!(a.entities.is_empty(), "{:?}", a.entities);
}

/// The canonical names of the persons found in `text`, in order.
fn person_canonicals(text: &str) -> Vec<String> {
    persons(text).map(|e| e.canonical).collect()
}

#[test]
fn a_surname_counts_as_the_full_name_of_the_same_text() {
    assert_eq!(
        person_canonicals("小泉純一郎首相は会見した。小泉首相は改革を訴えた。"),
        ["小泉純一郎", "小泉純一郎"]
    );
    assert_eq!(
        person_canonicals("マイケル・ジャクソン氏の公演。ジャクソン氏は歌った。"),
        ["マイケル・ジャクソン", "マイケル・ジャクソン"]
    );
    // IPADIC knows 万里 as a common word ("ten thousand ri"), not a given
    // name: no surname completed by it (a title in a span, such as 騎手,
    // is a common word too)
    let names = person_canonicals("海江田万里氏が語った。海江田氏は述べた。");
    assert_eq!(names, ["海江田万里", "海江田"]);
    // the other parts of a ・-joined name must be given names (initials
    // aside): not a country a span took in
    assert_eq!(
        person_canonicals("ジョージ・W・ブッシュ大統領が来日した。ブッシュ氏は述べた。"),
        ["ジョージ・W・ブッシュ", "ジョージ・W・ブッシュ"]
    );
    // two full names of one surname: the surname stays as written
    let names = person_canonicals("小泉純一郎氏と小泉進次郎氏が並んだ。小泉氏は語った。");
    assert_eq!(names, ["小泉純一郎", "小泉進次郎", "小泉"]);
}

#[test]
fn a_given_name_ending_in_a_numeral_or_a_misread_kanji_is_whole() {
    // IPADIC cuts 仙一, 聡一, 晶三 into a given name and a number.
    assert_persons([
        ("星野仙一監督が会見した", vec!["星野仙一"]),
        ("宇宙飛行士の野口聡一さんは", vec!["野口聡一"]),
        ("佐々木晶三厩舎の2頭", vec!["佐々木晶三"]),
        ("田中健一氏", vec!["田中健一"]),
        // A counter after the number: one person and a count.
        ("星野仙一人が", vec!["星野仙"]),
        // The second kanji of a given name IPADIC files as a place, an
        // organisation or a suffix.
        ("細川綱利時代には", vec!["細川綱利"]),
        ("中村功平、高橋", vec!["中村功平"]),
        ("樋口真嗣とは", vec!["樋口真嗣"]),
        ("原作者の岸本斉史が", vec!["岸本斉史"]),
        // … as a verbal noun, a particle, or a prefix that prefixes nothing.
        ("スタッフが井出有治のマシンから", vec!["井出有治"]),
        ("オスロ=柳沢亨之『ノーベル平和賞", vec!["柳沢亨之"]),
        ("はずの加藤宗現(かとう・そうげん)さん", vec!["加藤宗現"]),
        // Not a family's house, a role or a word-forming suffix, nor a
        // prefix of what follows.
        ("細川綱家の", vec!["細川綱"]),
        ("茶谷亮他3名『広島", vec!["茶谷亮"]),
    ]);
}

#[test]
fn a_surname_ipadic_cuts_into_single_kanji_stays_with_the_given_name() {
    assert_persons([
        // 伊|調|馨 (Italy, a suffix, a given name); after a unit (キロ|級).
        ("女子63キロ級伊調馨選手が3連覇", vec!["伊調馨"]),
        ("元市長・志々田浩太郎氏であり", vec!["志々田浩太郎"]),
        ("看護師の井ヶ田治さん(33)", vec!["井ヶ田治"]),
        // A relative or a rank before a given name is not part of it.
        ("妻恵子さんと", vec!["恵子"]),
        ("秋篠宮妃紀子さまが", vec!["秋篠宮", "紀子"]),
        // More of the name lies before what could be taken in: the given
        // name stays alone.
        ("元大関北天佑の二十山勝彦さん", vec!["勝彦"]),
        // A one-kanji surname IPADIC knows, after a kanji glued to it,
        // before a given name or a title (鬼|武|健二, 督|永|忠子, 戸|丸|さん).
        ("Jリーグの鬼武健二チェアマンは", vec!["鬼武健二"]),
        ("在住の督永忠子さんらは", vec!["督永忠子"]),
        ("産経によると、戸丸さんは", vec!["戸丸"]),
        // Not a title or suffix before it.
        ("前原氏菅氏", vec!["前原", "菅"]),
    ]);
}

#[test]
fn a_place_name_that_is_a_surname_before_a_given_name_is_a_person() {
    assert_persons([
        ("女優の山東昭子が", vec!["山東昭子"]),
        ("千葉真一が出演", vec!["千葉真一"]),
        ("香川真司選手", vec!["香川真司"]),
        // IPADIC tags the surname a place here: one it also knows as a
        // surname, or one the gazetteer does not know before a given name
        // of two kanji.
        ("ノーベル物理学賞に赤崎勇・天野浩", vec!["赤崎勇", "天野浩"]),
        ("66kg級の米満達弘の金メダル", vec!["米満達弘"]),
        // Not a country of four kanji (大韓民国|忠清南道).
        ("大韓民国忠清南道泰安郡沖の", vec![]),
    ]);
    // Alone, the place.
    let a = analyzer().analyze("千葉と香川で");
    assert_eq!(
        entities_of(&a, "place"),
        BTreeSet::from(["千葉県".to_string(), "香川県".to_string()])
    );
}

#[test]
fn a_place_name_that_is_a_surname_before_a_personal_title_is_a_person() {
    assert_persons([
        ("石川議員を逮捕", vec!["石川"]),
        ("松本被告人の弁護団は", vec!["松本"]),
        ("平野容疑者も認めた", vec!["平野"]),
        ("弁護士の水戸氏によると", vec!["水戸"]),
        // An honorific ends a name wherever it stands (a headline).
        ("弁護士・橋下氏全国最年少", vec!["橋下"]),
        // A surname and a kanji of the given name, a town to IPADIC.
        ("また武豊騎手はこのレースで", vec!["武豊"]),
    ]);
    // Not before a title that also follows a team named by its town (広島
    // 監督), nor before a word that only starts with a title (議員宿舎).
    for (text, place) in [("広島監督は語った", "広島県"), ("赤坂議員宿舎で", "赤坂")]
    {
        let a = analyzer().analyze(text);
        assert!(persons_in(text).is_empty(), "{text}: {:?}", a.entities);
        assert_eq!(
            entities_of(&a, "place"),
            BTreeSet::from([place.to_string()]),
            "{text}"
        );
    }
}

#[test]
fn before_governor_a_place_that_names_no_prefecture_is_the_governor() {
    // 橋下 is a place to IPADIC, and no prefecture: the governor's name.
    // So is one before a prefecture and its governor's title.
    for text in [
        "また、橋下知事は述べた",
        "大阪府・橋下知事反発",
        "廃止も視野橋下大阪府知事",
        "橋下・大阪府知事が会見",
    ] {
        assert_eq!(persons_in(text), vec!["橋下"], "{text}");
    }
    // 千葉 names 千葉県: its governor, not a person.
    let a = analyzer().analyze("千葉知事は述べた");
    assert!(
        persons_in("千葉知事は述べた").is_empty(),
        "{:?}",
        a.entities
    );
    assert_eq!(
        entities_of(&a, "place"),
        BTreeSet::from(["千葉県".to_string()])
    );
}

#[test]
fn a_name_does_not_run_on_over_inside_or_a_pronoun() {
    let a = analyzer().analyze("心不全のため東京都内病院で死去した");
    assert!(
        entities_of(&a, "organization").is_empty(),
        "{:?}",
        a.entities
    );
    assert_eq!(
        entities_of(&a, "place"),
        BTreeSet::from(["東京都".to_string()])
    );
    let a = analyzer().analyze("F1最終戦ブラジルGPその他国際自動車連盟");
    assert!(
        !entities_of(&a, "organization")
            .iter()
            .any(|o| o.contains("その他")),
        "{:?}",
        a.entities
    );
}

#[test]
fn a_place_before_inside_keeps_its_unit() {
    let places = |text: &str| mentions_in(text, "place");
    // IPADIC reads 大阪|市内: the place is 大阪市, as the news gold has it
    // (it was 大阪).
    assert_eq!(
        places("大阪市内の病院と旭川市内の駅で"),
        vec!["大阪市", "旭川市"]
    );
    assert_eq!(places("宮城県内で"), vec!["宮城県"]);
    // 国内 has no unit: 日本|国内 is 日本.
    assert_eq!(places("日本国内で"), vec!["日本"]);
}

#[test]
fn a_person_suffix_alone_is_no_person() {
    // IPADIC cuts 橋下 of 橋下氏市長 into two suffixes: 氏 before 市長 was a
    // person of its own, and 前原氏菅氏 gave 氏菅.
    assert!(persons_in("大阪維新の会圧勝-橋下氏市長当選").is_empty());
    assert_eq!(persons_in("新代表に前原氏菅氏に2票差"), vec!["前原", "菅"]);
}

#[test]
fn an_address_unit_of_one_kanji_and_a_suffix_is_a_place() {
    let places = |text: &str| mentions_in(text, "place");
    // The units as the index counts them (the analysis reports the address
    // whole).
    let units = |text: &str| -> Vec<String> {
        let (_, mentions) = analyzer().index_analysis(text);
        mentions
            .into_iter()
            .filter(|m| m.kind.as_str() == "place")
            .map(|m| text[m.start..m.end].to_string())
            .collect()
    };
    // 東京都|港|区 was 東京都港, a port, with 区 left over.
    assert_eq!(units("東京都港区の病院で"), vec!["東京都", "港区"]);
    assert_eq!(places("東京都港区の病院で"), vec!["東京都港区"]);
    assert_eq!(
        units("大阪市北区と広島市中区で"),
        vec!["大阪市", "北区", "広島市", "中区"]
    );
    assert_eq!(
        places("大阪市北区と広島市中区で"),
        vec!["大阪市北区", "広島市中区"]
    );
    // Not a kanji of a longer name (魚|崎|町) nor before a person's name (柳|町|光男).
    assert_eq!(places("魚崎町横屋に"), vec!["横屋"]);
    assert_eq!(persons_in("柳町光男監督の前作"), vec!["柳町光男"]);
    assert!(places("柳町光男監督の前作").is_empty());
    // A place that ends like a port stays one: 横浜港.
    assert_eq!(places("横浜港に着いた"), vec!["横浜港"]);
}

#[test]
fn a_newspaper_named_in_katakana_words_is_one_organisation() {
    let orgs = |text: &str| mentions_in(text, "organization");
    // Before, バリ (a place) and タイムズ (The Times); アサヒ and コム.
    for (text, name) in [
        ("バリ・タイムズ紙が報じた", "バリ・タイムズ"),
        (
            "ミドル・イースト・タイムズによれば",
            "ミドル・イースト・タイムズ",
        ),
        ("ジャカルタ・ポストは伝えている", "ジャカルタ・ポスト"),
        ("アサヒ・コム、2005年", "アサヒ・コム"),
    ] {
        let a = analyzer().analyze(text);
        assert_eq!(orgs(text), vec![name], "{text}");
        assert!(
            entities_of(&a, "place").is_empty(),
            "{text}: {:?}",
            a.entities
        );
    }
    // コム with no name before it is none.
    assert!(orgs("くまにちコムの記事").is_empty());
}

#[test]
fn a_katakana_word_ending_in_a_company_word_is_the_company() {
    // One word IPADIC does not know, alone or after the name's other words.
    for (text, name) in [
        ("ツネイシホールディングスの社長", "ツネイシホールディングス"),
        (
            "ギブソン・ギター・コーポレーションの",
            "ギブソン・ギター・コーポレーション",
        ),
        (
            "三菱UFJフィナンシャルグループは",
            "三菱UFJフィナンシャルグループ",
        ),
    ] {
        assert_eq!(mentions_in(text, "organization"), vec![name], "{text}");
    }
}

#[test]
fn a_broadcaster_s_short_name_is_the_broadcaster() {
    // IPADIC reads 関|テレ as a surname and a given name.
    let a = analyzer().analyze("関テレによると");
    assert_eq!(
        entities_of(&a, "organization"),
        BTreeSet::from(["関西テレビ".to_string()])
    );
    assert!(persons_in("関テレによると").is_empty());
}

#[test]
fn a_place_ipadic_names_is_no_place_in_a_demonym_or_an_event() {
    // The gazetteer's places already were not (日本人, 東京マラソン).
    assert_no_places([
        "ユダヤ人文書センターを設立した",
        "今回のリオデジャネイロオリンピックから",
        "日本人の死",
        // A style, or a sumo stable named like one.
        "時津風部屋で起きた",
        "フランス風の料理",
    ]);
}

#[test]
fn japan_in_katakana_is_part_of_a_name() {
    assert_no_places([
        "ジャパンカップダート以来",
        "競泳ジャパンオープン2008",
        "侍ジャパンは連覇した",
    ]);
}

/// Asserts that no place is found in any of `texts`.
fn assert_no_places<const N: usize>(texts: [&str; N]) {
    for text in texts {
        let a = analyzer().analyze(text);
        assert!(
            entities_of(&a, "place").is_empty(),
            "{text}: {:?}",
            a.entities
        );
    }
}

#[test]
fn a_company_named_by_a_deictic_prefix_is_no_name() {
    for text in ["自社開発の新製品", "同社は自社のウェブサイトで"] {
        let a = analyzer().analyze(text);
        assert!(a.entities.is_empty(), "{text}: {:?}", a.entities);
    }
}

#[test]
fn a_company_name_before_a_municipal_suffix_names_the_town() {
    let a = analyzer().analyze("日立市で火災があり、日立が発表した。");
    let found: Vec<(String, String)> = a
        .entities
        .iter()
        .map(|e| (e.text.clone(), e.canonical.clone()))
        .collect();
    assert_eq!(
        found,
        [
            ("日立市".to_string(), "日立市".to_string()),
            ("日立".to_string(), "日立製作所".to_string())
        ]
    );
    assert_eq!(
        entities_of(&a, "place"),
        BTreeSet::from(["日立市".to_string()])
    );
}

#[test]
fn a_company_is_named_without_its_legal_form() {
    let a = analyzer().analyze("ヤフー株式会社とマイクロソフト社、京セラ(株)、靖国神社");
    let names: Vec<(&str, &str)> = a
        .entities
        .iter()
        .map(|e| (e.text.as_str(), e.canonical.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("ヤフー株式会社", "ヤフー"),
            ("マイクロソフト社", "マイクロソフト"),
            ("京セラ", "京セラ"),
            ("靖国神社", "靖国神社")
        ]
    );
    // The old spelling of a name the gazetteer knows.
    let a = analyzer().analyze("讀賣新聞社によると");
    assert_eq!(a.entities[0].canonical, "読売新聞", "{:?}", a.entities);
}

#[test]
fn katakana_full_names_are_one_person() {
    let a = analyzer().analyze("アレクサンダー・ガブエフ所長はこう語った。");
    assert_eq!(a.entities.len(), 1, "{:?}", a.entities);
    assert_eq!(a.entities[0].text, "アレクサンダー・ガブエフ");
    // Ordinary words joined with ・ name no one; a name among them does.
    let a = analyzer().analyze("ワールド・ベースボール・クラシックのセカンド・アルバム");
    assert!(a.entities.is_empty(), "{:?}", a.entities);
    // An ordinary word before a title is a compound; before an honorific,
    // a name.
    let a = analyzer().analyze("プロ選手とスター選手、ゴルフ選手");
    assert!(a.entities.is_empty(), "{:?}", a.entities);
    let a = analyzer().analyze("ホワイト氏とブッシュ大統領");
    assert_eq!(
        entities_of(&a, "person"),
        BTreeSet::from(["ホワイト".to_string(), "ブッシュ".to_string()])
    );
    // A part that names a place (a volcano, a people's region) or an
    // English function word (a title's) makes no person, also inside one
    // unknown morpheme.
    for text in [
        "インドネシア・ムラピ山が噴火",
        "アバ・チベット族チャン族自治州",
        "ホーム・アンド・アウェー方式",
    ] {
        let a = analyzer().analyze(text);
        assert!(persons_in(text).is_empty(), "{text}: {:?}", a.entities);
    }
    // A chain whose last part IPADIC knows as an ordinary noun only names a
    // thing, also inside one unknown morpheme, unless another part is a
    // name; a last ジュニア is passed over.
    assert_persons([
        ("ファイナンシャル・プランナーの資格", vec![]),
        ("エイベックス・マネジメントに所属", vec![]),
        ("ウィンドウズ・ビスタを発売", vec![]),
        ("ジョージ・ウェアが当選", vec!["ジョージ・ウェア"]),
        (
            "ロナルド・アクーニャ・ジュニアが打った",
            vec!["ロナルド・アクーニャ・ジュニア"],
        ),
    ]);
    let a = analyzer().analyze("ジョージ・ホワイトが来た");
    assert_eq!(
        entities_of(&a, "person"),
        BTreeSet::from(["ジョージ・ホワイト".to_string()])
    );
    // A word IPADIC knows only with its final ー (サッカー), which text
    // holds folded (サッカ), is known all the same: an ordinary word, no
    // foreign name before 選手.
    for (text, word) in [
        ("サッカー選手が来た", "サッカー"),
        ("ラグビー選手とレンタカー", "レンタカー"),
    ] {
        let a = analyzer().analyze(text);
        assert!(a.entities.is_empty(), "{text}: {:?}", a.entities);
        let t = a.tokens.iter().find(|t| t.text == word).expect(word);
        assert_eq!((t.pos[0].as_str(), t.base.as_str()), ("名詞", word));
    }
}

#[test]
fn analysis_never_panics_on_odd_text() {
    let long = "あ".repeat(100_000);
    for text in [
        "㈱",
        "e\u{301}\u{302}",
        "👨‍👩‍👧",
        "ｶﾞｲﾄﾞ",
        "\u{0}",
        "",
        " \n\t",
        long.as_str(),
    ] {
        let a = analyzer().analyze(text);
        let n = text.chars().count();
        assert!(a.tokens.iter().all(|t| t.start <= t.end && t.end <= n));
    }
}

#[test]
fn index_time_tokens_equal_query_time_tokens() {
    // Indexing takes the morphemes of the one analysis pass (through the
    // token memo); tantivy's own `ja` tokenizer (lindera-tantivy) and query
    // analysis segment again. All three must agree token for token.
    // Symbols inside numbers are tokens (`7.4`, `5%` before `、`), spaces
    // take no position, inflected words add their dictionary forms.
    let symbols = "M7.4の地震。税率5%、1,000人(約50%)が2008 北京へ行った。UTC+9";
    let render = |ts: &[tantivy::tokenizer::Token]| -> Vec<(String, usize, usize, usize)> {
        ts.iter()
            .map(|t| (t.text.clone(), t.offset_from, t.offset_to, t.position))
            .collect()
    };
    for text in [seed_text(), symbols.to_string()] {
        let (indexed, _) = analyzer().index_analysis(&text);
        let norm = kiji::analysis::normalize::normalize(&text);
        let mut tokenizer = analyzer().morph_tokenizer();
        let through_lindera_tantivy = tokenizer.tokens_of(&norm);
        let for_queries = analyzer().query_tokens(&norm);
        assert_eq!(render(&indexed), render(&through_lindera_tantivy));
        assert_eq!(render(&indexed), render(&for_queries));
    }
    let (indexed, _) = analyzer().index_analysis(&seed_text());
    assert!(indexed.len() > 500, "{}", indexed.len());
    let (indexed, _) = analyzer().index_analysis(symbols);
    let words: Vec<(String, usize)> = indexed
        .iter()
        .map(|t| (t.text.clone(), t.position))
        .collect();
    for (word, position) in [
        (".", 2),
        ("%", 9),
        (",", 12),
        ("2008", 21),
        ("北京", 22),
        ("+", 28),
    ] {
        assert!(
            words.contains(&(word.to_string(), position)),
            "{word}@{position}: {words:?}"
        );
    }
}

#[test]
fn ingest_hands_every_segmentation_to_tantivy() {
    // An analyser of its own: the token memo is shared by all its indexes.
    let analyzer = kiji::analysis::Analyzer::new(None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = kiji::index::Store::open(dir.path(), analyzer.clone()).unwrap();
    let mut writer = kiji::index::Writer::new(&store, 64).unwrap();
    let mut report = kiji::ingest::IngestReport::default();
    let files = kiji::ingest::collect_files(&[crate::common::sample_corpus()], &mut report);
    kiji::ingest::ingest_files(
        &store,
        &mut writer,
        &files,
        &Default::default(),
        &kiji::ingest::Quiet,
        &mut report,
    )
    .unwrap();
    assert!(report.added >= 5, "{}", report.summary());
    // tantivy's `ja` tokenizer took every segmentation the writer left.
    assert_eq!(analyzer.token_memo().len(), 0);
    // And indexed it: a word of the seed is found as morphemes.
    let searcher = store.searcher();
    let term = tantivy::Term::from_field_text(store.fields.body, "金正恩");
    assert!(searcher.doc_freq(&term).unwrap() >= 1);
}

#[test]
fn token_memo_gives_back_exactly_what_it_was_given() {
    let memo = kiji::analysis::tokenizer::TokenMemo::default();
    let (indexed, _) = analyzer().index_analysis("北朝鮮の派兵");
    memo.put("北朝鮮の派兵", indexed.clone());
    memo.put("北朝鮮の派兵", indexed.clone());
    assert_eq!(memo.take("北朝鮮の派兵x"), None);
    assert_eq!(
        memo.take("北朝鮮の派兵").map(|t| t.len()),
        Some(indexed.len())
    );
    assert_eq!(memo.len(), 1);
    assert!(memo.take("北朝鮮の派兵").is_some());
    assert_eq!(memo.take("北朝鮮の派兵"), None);
    assert!(memo.is_empty());
    // A rollback forgets what was left for documents that were dropped.
    memo.put("ロシア", indexed);
    memo.clear();
    assert!(memo.is_empty());
}
