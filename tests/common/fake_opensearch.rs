//! An in-process fake OpenSearch (a wiremock server with a stateful
//! responder): enough of the REST API for the sink — index templates,
//! indices, aliases, `_bulk` with external versions and `dynamic: strict`
//! mappings — plus switches to make it fail: whole `_bulk` requests answered
//! 429/5xx, articles refused or answered 429 per item.
//!
//! For the query backend it answers `GET <alias>/_doc/<id>` and
//! `POST <alias>/_search` — without evaluating the query: every search
//! matches every document (in `id` order, honouring `from`, `size` and a
//! `search_after` on `id`), and the aggregations kiji uses (`global`,
//! `terms` with `include` lists or patterns, `filter`, `date_histogram`,
//! `missing`, `top_hits`) are computed over all of them. The tests check the requests kiji sends, and what kiji makes of
//! the answers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Default)]
pub struct Index {
    pub settings: Value,
    /// id → (version, document; None once deleted).
    pub docs: BTreeMap<String, (u64, Option<Value>)>,
}

impl Index {
    /// The live documents.
    pub fn live(&self) -> BTreeMap<&str, &Value> {
        self.docs
            .iter()
            .filter_map(|(id, (_, d))| d.as_ref().map(|d| (id.as_str(), d)))
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub templates: BTreeMap<String, Value>,
    pub indices: BTreeMap<String, Index>,
    pub aliases: BTreeMap<String, BTreeSet<String>>,
    /// Every request: method, path (with query), body.
    pub requests: Vec<(String, String, String)>,
    /// Statuses to answer the next `_bulk` requests with, instead of handling them.
    pub bulk_failures: VecDeque<u16>,
    /// Ids whose operations are refused: (status, error type).
    pub refuse: BTreeMap<String, (u16, String)>,
    /// Ids whose operations get a per-item 429 this many more times.
    pub busy: BTreeMap<String, u32>,
}

impl State {
    pub fn bulk_requests(&self) -> Vec<&str> {
        self.requests
            .iter()
            .filter(|(m, p, _)| m == "POST" && p == "/_bulk")
            .map(|(_, _, b)| b.as_str())
            .collect()
    }

    /// The index behind a name (an index, or an alias with one index).
    fn resolve(&self, name: &str) -> Option<String> {
        match self.aliases.get(name) {
            Some(set) if set.len() == 1 => set.iter().next().cloned(),
            Some(_) => None,
            None => Some(name.to_string()),
        }
    }

    /// The alias's documents.
    pub fn docs_of(&self, name: &str) -> BTreeMap<String, Value> {
        let index = self.resolve(name).unwrap_or_default();
        self.indices
            .get(&index)
            .map(|i| {
                i.live()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Top-level properties of the template whose pattern matches `index`.
    fn strict_properties(&self, index: &str) -> Option<BTreeSet<String>> {
        self.templates.values().find_map(|t| {
            let matches = t["index_patterns"].as_array()?.iter().any(|p| {
                let p = p.as_str().unwrap_or("");
                index.starts_with(p.trim_end_matches('*'))
            });
            let m = &t["template"]["mappings"];
            (matches && m["dynamic"] == "strict").then(|| {
                m["properties"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .cloned()
                    .collect()
            })
        })
    }
}

#[derive(Clone, Default)]
pub struct FakeOpenSearch {
    pub state: Arc<Mutex<State>>,
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

fn error(status: u16, kind: &str, reason: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": { "type": kind, "reason": reason }, "status": status }))
}

impl FakeOpenSearch {
    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// A cluster that already serves `alias` from an empty index.
    pub fn with_alias(alias: &str) -> FakeOpenSearch {
        let fake = FakeOpenSearch::default();
        {
            let mut s = fake.state();
            let index = format!("{alias}-v00000000-000000-000");
            s.indices.insert(index.clone(), Index::default());
            s.aliases.insert(alias.to_string(), BTreeSet::from([index]));
        }
        fake
    }

    /// Starts a server answering as this fake; keep the server alive while used.
    pub fn start(&self) -> MockServer {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = MockServer::start().await;
            Mock::given(any())
                .respond_with(self.clone())
                .mount(&server)
                .await;
            server
        })
    }

    fn bulk(&self, s: &mut State, body: &str) -> ResponseTemplate {
        if let Some(status) = s.bulk_failures.pop_front() {
            return error(status, "es_rejected_execution_exception", "rejected");
        }
        let mut lines = body.lines().filter(|l| !l.trim().is_empty());
        let mut items = Vec::new();
        let mut errors = false;
        while let Some(line) = lines.next() {
            let action: Value = serde_json::from_str(line).expect("an action line");
            let (kind, meta) = action.as_object().unwrap().iter().next().unwrap();
            let doc = if kind == "index" {
                Some(serde_json::from_str::<Value>(lines.next().expect("a source line")).unwrap())
            } else {
                None
            };
            let id = meta["_id"].as_str().unwrap().to_string();
            let version = meta["version"].as_u64().unwrap();
            assert_eq!(meta["version_type"], "external");
            let item = |status: u16, extra: Value| {
                let mut v = json!({ "_index": meta["_index"], "_id": id, "status": status });
                v.as_object_mut()
                    .unwrap()
                    .extend(extra.as_object().unwrap().clone());
                json!({ kind: v })
            };
            let failure = |status: u16, kind: &str, reason: &str| {
                item(
                    status,
                    json!({ "error": { "type": kind, "reason": reason } }),
                )
            };
            if let Some((status, kind)) = s.refuse.get(&id).cloned() {
                errors = true;
                items.push(failure(status, &kind, "refused by the test"));
                continue;
            }
            if let Some(n) = s.busy.get_mut(&id).filter(|n| **n > 0) {
                *n -= 1;
                errors = true;
                items.push(failure(429, "es_rejected_execution_exception", "busy"));
                continue;
            }
            let name = meta["_index"].as_str().unwrap();
            if meta["require_alias"] == true && s.aliases.get(name).is_none_or(|a| a.is_empty()) {
                errors = true;
                items.push(failure(
                    404,
                    "index_not_found_exception",
                    &format!("no such index [{name}] and [require_alias] request flag is [true]"),
                ));
                continue;
            }
            let Some(index) = s.resolve(name) else {
                errors = true;
                items.push(failure(400, "illegal_argument_exception", "no write index"));
                continue;
            };
            if let (Some(allowed), Some(d)) = (s.strict_properties(&index), &doc) {
                let extra: Vec<&String> = d
                    .as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| !allowed.contains(*k))
                    .collect();
                if !extra.is_empty() {
                    errors = true;
                    items.push(failure(
                        400,
                        "strict_dynamic_mapping_exception",
                        &format!("fields {extra:?} not allowed"),
                    ));
                    continue;
                }
            }
            let ix = s.indices.entry(index).or_default();
            let current = ix.docs.get(&id).map(|(v, _)| *v);
            if current.is_some_and(|c| c >= version) {
                errors = true;
                items.push(failure(
                    409,
                    "version_conflict_engine_exception",
                    "newer version",
                ));
                continue;
            }
            let existed = ix.docs.get(&id).is_some_and(|(_, d)| d.is_some());
            ix.docs.insert(id.clone(), (version, doc.clone()));
            items.push(match (kind.as_str(), existed) {
                ("delete", false) => item(404, json!({ "result": "not_found" })),
                ("delete", true) => item(200, json!({ "result": "deleted" })),
                (_, true) => item(200, json!({ "result": "updated" })),
                _ => item(201, json!({ "result": "created" })),
            });
        }
        ok(json!({ "took": 1, "errors": errors, "items": items }))
    }
}

impl Respond for FakeOpenSearch {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut s = self.state();
        let method = request.method.to_string();
        let path = request.url.path().to_string();
        let full = match request.url.query() {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let body = String::from_utf8(request.body.clone()).expect("UTF-8 bodies");
        s.requests.push((method.clone(), full, body.clone()));
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let json_body = || serde_json::from_str::<Value>(&body).unwrap_or(Value::Null);
        match (method.as_str(), parts.as_slice()) {
            ("GET", [""]) => {
                ok(json!({ "version": { "distribution": "opensearch", "number": "2.17.0" } }))
            }
            ("PUT", ["_index_template", name]) => {
                s.templates.insert(name.to_string(), json_body());
                ok(json!({ "acknowledged": true }))
            }
            ("POST", ["_bulk"]) => self.bulk(&mut s, &body),
            ("GET", ["_alias", alias]) => match s.aliases.get(*alias) {
                Some(set) if !set.is_empty() => ok(Value::Object(
                    set.iter()
                        .map(|i| (i.clone(), json!({ "aliases": { *alias: {} } })))
                        .collect(),
                )),
                _ => error(404, "aliases_not_found_exception", "alias missing"),
            },
            ("POST", ["_aliases"]) => {
                let actions = json_body()["actions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                // All or nothing: check first, then apply.
                for a in &actions {
                    let (_, spec) = a.as_object().unwrap().iter().next().unwrap();
                    if !s.indices.contains_key(spec["index"].as_str().unwrap()) {
                        return error(404, "index_not_found_exception", "no such index");
                    }
                }
                for a in &actions {
                    let (kind, spec) = a.as_object().unwrap().iter().next().unwrap();
                    let (index, alias) = (
                        spec["index"].as_str().unwrap(),
                        spec["alias"].as_str().unwrap(),
                    );
                    let set = s.aliases.entry(alias.to_string()).or_default();
                    if kind == "add" {
                        set.insert(index.to_string());
                    } else {
                        set.remove(index);
                    }
                }
                ok(json!({ "acknowledged": true }))
            }
            ("GET", ["_cat", "indices", pattern]) => {
                let prefix = pattern.trim_end_matches('*');
                ok(Value::Array(
                    s.indices
                        .keys()
                        .filter(|n| n.starts_with(prefix))
                        .map(|n| json!({ "index": n }))
                        .collect(),
                ))
            }
            ("PUT", [index]) => {
                if s.indices.contains_key(*index) {
                    return error(400, "resource_already_exists_exception", "exists");
                }
                s.indices.insert(
                    index.to_string(),
                    Index {
                        settings: json_body(),
                        docs: BTreeMap::new(),
                    },
                );
                ok(json!({ "acknowledged": true, "index": index }))
            }
            ("PUT", [index, "_settings"]) => match s.indices.get_mut(*index) {
                Some(ix) => {
                    ix.settings = json_body();
                    ok(json!({ "acknowledged": true }))
                }
                None => error(404, "index_not_found_exception", "no such index"),
            },
            ("POST", [_, "_refresh"]) => ok(json!({ "_shards": { "failed": 0 } })),
            ("POST", [name, "_search"]) => {
                let docs = s.docs_of(name);
                search(&docs, &json_body())
            }
            ("GET", [name, "_doc", id]) => {
                let id = percent_encoding::percent_decode_str(id).decode_utf8_lossy();
                match s.docs_of(name).get(id.as_ref()) {
                    Some(d) => {
                        ok(json!({ "_index": name, "_id": id, "found": true, "_source": d }))
                    }
                    None => ResponseTemplate::new(404)
                        .set_body_json(json!({ "_index": name, "_id": id, "found": false })),
                }
            }
            ("DELETE", [index]) => {
                s.indices.remove(*index);
                for set in s.aliases.values_mut() {
                    set.remove(*index);
                }
                ok(json!({ "acknowledged": true }))
            }
            _ => error(
                400,
                "unsupported",
                &format!("the fake does not do {method} {path}"),
            ),
        }
    }
}

/// A URL nothing listens on (a cluster that is down).
pub fn dead_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// A `_search` over `docs` (see the module's comment: the query matches all).
fn search(docs: &BTreeMap<String, Value>, body: &Value) -> ResponseTemplate {
    let all: Vec<(&String, &Value)> = docs.iter().collect();
    let after = body["search_after"]
        .as_array()
        .and_then(|a| a.last())
        .and_then(Value::as_str);
    let from = body["from"].as_u64().unwrap_or(0) as usize;
    let size = body["size"].as_u64().unwrap_or(10) as usize;
    let by_score = body["sort"][0].get("_score").is_some();
    let hits: Vec<Value> = all
        .iter()
        .filter(|(id, _)| after.is_none_or(|a| id.as_str() > a))
        .skip(from)
        .take(size)
        .enumerate()
        .map(|(i, (id, d))| {
            let score = 10.0 - i as f64;
            let sort = if by_score {
                json!([score, id])
            } else if body["sort"][0].get("published").is_some() {
                json!([d["published"], id])
            } else {
                json!([id])
            };
            json!({ "_index": "fake", "_id": id, "_score": if by_score { json!(score) } else { Value::Null },
                    "_source": d, "sort": sort })
        })
        .collect();
    let mut answer = json!({
        "took": 1,
        "timed_out": false,
        "hits": { "total": { "value": all.len(), "relation": "eq" }, "hits": hits },
    });
    if let Some(aggs) = body.get("aggs").and_then(Value::as_object) {
        let docs: Vec<&Value> = all.iter().map(|(_, d)| *d).collect();
        answer["aggregations"] = aggregations(aggs, &docs);
    }
    ok(answer)
}

fn aggregations(aggs: &serde_json::Map<String, Value>, docs: &[&Value]) -> Value {
    let mut out = serde_json::Map::new();
    for (name, spec) in aggs {
        let sub = spec.get("aggs").and_then(Value::as_object);
        let value = if spec.get("global").is_some() || spec.get("filter").is_some() {
            let mut v = json!({ "doc_count": docs.len() });
            if let Some(sub) = sub {
                v.as_object_mut()
                    .unwrap()
                    .extend(aggregations(sub, docs).as_object().unwrap().clone());
            }
            v
        } else if let Some(t) = spec.get("terms") {
            let field = t["field"].as_str().unwrap();
            let include: Option<Vec<&str>> = t["include"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect());
            // A string `include` is a Lucene regular expression of the whole value.
            let pattern = t["include"]
                .as_str()
                .map(|p| regex::Regex::new(&format!("^(?:{p})$")).unwrap());
            let mut counts: BTreeMap<String, u64> = BTreeMap::new();
            for d in docs {
                let values: Vec<&str> = match &d[field] {
                    Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                    Value::String(v) => vec![v.as_str()],
                    _ => Vec::new(),
                };
                let unique: BTreeSet<&str> = values.into_iter().collect();
                for v in unique {
                    if include.as_ref().is_none_or(|i| i.contains(&v))
                        && pattern.as_ref().is_none_or(|p| p.is_match(v))
                    {
                        *counts.entry(v.to_string()).or_default() += 1;
                    }
                }
            }
            let mut buckets: Vec<(String, u64)> = counts.into_iter().collect();
            buckets.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            buckets.truncate(t["size"].as_u64().unwrap_or(10) as usize);
            json!({ "buckets": buckets.iter().map(|(k, n)| json!({ "key": k, "doc_count": n })).collect::<Vec<_>>() })
        } else if let Some(h) = spec.get("date_histogram") {
            let interval =
                kiji::search::timeline::Interval::parse(h["calendar_interval"].as_str().unwrap())
                    .unwrap();
            let mut counts: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
            for d in docs {
                let Some(t) = d["published"]
                    .as_str()
                    .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
                else {
                    continue;
                };
                let day = t.with_timezone(&kiji::article::tokyo()).date_naive();
                *counts.entry(interval.bucket(day)).or_default() += 1;
            }
            json!({ "buckets": counts.iter().map(|(k, n)| json!({
                "key_as_string": k.format("%Y-%m-%d").to_string(), "doc_count": n
            })).collect::<Vec<_>>() })
        } else if spec.get("top_hits").is_some() {
            // The last document (the fake's order is by id).
            json!({ "hits": { "hits": docs.last().map(|d| vec![json!({ "_source": d })]).unwrap_or_default() } })
        } else if let Some(m) = spec.get("missing") {
            let field = m["field"].as_str().unwrap();
            json!({ "doc_count": docs.iter().filter(|d| d[field].is_null()).count() })
        } else {
            panic!("the fake does not do the aggregation {spec}");
        };
        out.insert(name.clone(), value);
    }
    Value::Object(out)
}
