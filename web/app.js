// kiji 記事検索 — research dashboard.
// Plain ES2020, no dependencies, no external URLs. Talks to the kiji REST API
// on the same origin: /search, /timeline, /cooccurrence, /entities.
'use strict';

(() => {
  const LIMIT = 20; // hits per page
  const FACET_LIMIT = 12;
  const CO_LIMIT = 60; // fetched; shown after the client-side type filter
  const CO_SHOWN = 20;
  const SORTS = ['relevance', 'newest', 'oldest'];
  // How many of the query's words must match: all (op=and), most (min_match=75%), any (op=or).
  const MATCHES = { all: [], most: [['min_match', '75%']], any: [['op', 'or']] };
  const INTERVALS = ['auto', 'year', 'month', 'week', 'day'];
  const TYPE_LABEL = { person: '人物', organization: '組織', place: '場所', source: '情報源' };
  const ENTITY_TYPES = ['person', 'organization', 'place'];
  const INTERVAL_LABEL = { year: '年', month: '月', week: '週', day: '日' };
  const DAY_MS = 86400000;

  const $ = (sel) => document.querySelector(sel);

  /** Everything that defines the current view; mirrored in the URL. */
  const state = {
    q: '',
    entities: [], // ANDed entity filters (canonical names or aliases)
    typed: new Map(), // entity filter → its type, when chosen from a typed list (facets, chips)
    sources: [], // ORed source filters
    from: '',
    to: '',
    sort: 'relevance',
    match: 'all',
    interval: 'auto',
    dedup: false, // one hit per duplicate group (dedup=true)
    offset: 0,
    coType: '',
    coSort: 'count',
  };
  /** Entity name → type, when known (from facets, chips, co-occurrence). */
  const entityTypes = new Map();
  // Each panel has its own request counter; a stale response is dropped.
  const gens = { search: 0, timeline: 0, co: 0 };
  const errors = new Map(); // panel → error shown in #error
  let pending = 0;
  let lastTimeline = null;
  let lastCooccurrence = null;
  let lastTotal = 0;

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(endpoint, code, message, status) {
      super(message);
      this.endpoint = endpoint;
      this.code = code;
      this.status = status;
    }
  }

  /** Query string from [key, value] pairs; empty values are left out. */
  function toQuery(pairs) {
    return pairs
      .filter(([, v]) => v !== undefined && v !== null && String(v) !== '')
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
  }

  async function api(path, pairs = []) {
    const qs = toQuery(pairs);
    const url = qs ? `${path}?${qs}` : path;
    pending++;
    setBusy();
    try {
      let res;
      try {
        res = await fetch(url, { headers: { Accept: 'application/json' } });
      } catch (e) {
        throw new ApiError(path, 'network', `サーバーに接続できません (${e.message})`, 0);
      }
      const text = await res.text();
      let body = null;
      try {
        body = text ? JSON.parse(text) : null;
      } catch (_) {
        body = null;
      }
      if (!res.ok) {
        const err = body && body.error;
        throw new ApiError(
          path,
          (err && err.code) || `http_${res.status}`,
          (err && err.message) || `HTTP ${res.status} ${res.statusText}`.trim(),
          res.status,
        );
      }
      if (body === null) throw new ApiError(path, 'bad_response', 'JSON でない応答を受け取りました', res.status);
      return body;
    } finally {
      pending--;
      setBusy();
    }
  }

  /** The filters shared by /search, /timeline and /export. */
  function filterPairs() {
    const pairs = [['q', state.q.trim()], ...matchPairs()];
    pairs.push(...entityPairs());
    for (const s of state.sources) pairs.push(['source', s]);
    pairs.push(['from', state.from], ['to', state.to]);
    if (state.dedup) pairs.push(['dedup', 'true']);
    return pairs;
  }

  /** The entity filters: `person=…` for one chosen with its type (a facet
   * counts that type only), else `entity=…` (any type). */
  function entityPairs() {
    return state.entities.map((e) => [state.typed.get(e) || 'entity', e]);
  }

  /** Asia/Tokyo day (YYYY-MM-DD) of a published time, the day `from`/`to`
   * and the timeline count it in; a bare date stays as it is. */
  function tokyoDay(published) {
    const s = String(published);
    if (/^\d{4}-\d{2}-\d{2}$/.test(s)) return s;
    const t = Date.parse(s);
    if (Number.isNaN(t)) return s.slice(0, 10);
    return new Date(t + 9 * 3600 * 1000).toISOString().slice(0, 10);
  }

  /** The parameters for the chosen word match (none for the default, all words). */
  function matchPairs() {
    return state.q.trim() ? MATCHES[state.match] : [];
  }

  /** Relevance is meaningless without words: list newest first then. */
  function effectiveSort() {
    return state.sort === 'relevance' && !state.q.trim() ? 'newest' : state.sort;
  }

  // ---------------------------------------------------------------- errors

  function showError(err, what, key = what) {
    const box = $('#error');
    const li = document.createElement('li');
    li.dataset.key = key;
    const where = err instanceof ApiError ? `${what}（${err.endpoint}）` : what;
    const code = err instanceof ApiError ? err.code : 'script_error';
    li.append(
      el('span', 'error-where', where),
      ' ',
      el('code', 'error-code', code),
      ' ',
      el('span', 'error-message', err && err.message ? err.message : String(err)),
    );
    if (errors.has(key)) errors.get(key).remove();
    errors.set(key, li);
    $('#error-list').append(li);
    box.hidden = false;
  }

  /** Clears the errors of some panels (all when none named). */
  function clearErrors(...keys) {
    for (const key of keys.length ? keys : [...errors.keys()]) {
      const li = errors.get(key);
      if (li) li.remove();
      errors.delete(key);
    }
    $('#error').hidden = errors.size === 0;
  }

  // ---------------------------------------------------------------- DOM helpers

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  const fmt = (n) => Number(n || 0).toLocaleString('ja-JP');

  function setBusy() {
    document.body.classList.toggle('busy', pending > 0);
    document.body.dataset.state = pending > 0 ? 'loading' : 'ready';
  }

  function placeholder(target, text, className = 'muted') {
    target.replaceChildren(el('p', className, text));
  }

  // ---------------------------------------------------------------- URL state

  function readUrl() {
    const p = new URLSearchParams(location.search);
    state.q = p.get('q') || '';
    // entity=… any type; person=… (organization, place) that type only.
    const untyped = p.getAll('entity').map((s) => s.trim()).filter(Boolean);
    const typed = [];
    state.typed = new Map();
    for (const t of ENTITY_TYPES) {
      for (const name of p.getAll(t).map((s) => s.trim()).filter(Boolean)) {
        if (!untyped.includes(name)) {
          state.typed.set(name, t);
          entityTypes.set(name, t);
        }
        typed.push(name);
      }
    }
    state.entities = unique([...untyped, ...typed]);
    state.sources = unique(p.getAll('source').map((s) => s.trim()).filter(Boolean));
    state.from = validDate(p.get('from'));
    state.to = validDate(p.get('to'));
    state.sort = SORTS.includes(p.get('sort')) ? p.get('sort') : 'relevance';
    state.match = Object.hasOwn(MATCHES, p.get('match')) ? p.get('match') : 'all';
    state.interval = INTERVALS.includes(p.get('interval')) ? p.get('interval') : 'auto';
    state.dedup = p.get('dedup') === 'true';
    state.offset = 0;
  }

  function writeUrl() {
    const pairs = [['q', state.q.trim()], ...entityPairs()];
    for (const s of state.sources) pairs.push(['source', s]);
    pairs.push(['from', state.from], ['to', state.to]);
    if (state.sort !== 'relevance') pairs.push(['sort', state.sort]);
    if (state.match !== 'all') pairs.push(['match', state.match]);
    if (state.interval !== 'auto') pairs.push(['interval', state.interval]);
    if (state.dedup) pairs.push(['dedup', 'true']);
    const qs = toQuery(pairs);
    history.replaceState(null, '', qs ? `${location.pathname}?${qs}` : location.pathname);
  }

  function syncControls() {
    $('#q').value = state.q;
    $('#sort').value = state.sort;
    $('#dedup').checked = state.dedup;
    $('#match').value = state.match;
    $('#from').value = state.from;
    $('#to').value = state.to;
    $('#interval').value = state.interval;
  }

  const unique = (xs) => [...new Set(xs)];
  const validDate = (s) => (s && /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : '');

  // ---------------------------------------------------------------- search flow

  /** Runs everything for the current state: results, facets, timeline, co-occurrence. */
  function runAll() {
    state.offset = 0;
    clearErrors();
    writeUrl();
    syncControls();
    renderActiveFilters();
    updateExportLink();
    loadSearch();
    loadTimeline();
    loadCooccurrence();
  }

  async function loadSearch() {
    const gen = ++gens.search;
    const stale = () => gen !== gens.search;
    clearErrors('検索');
    const results = $('#results');
    results.setAttribute('aria-busy', 'true');
    try {
      const data = await api('/search', [
        ...filterPairs(),
        ['sort', effectiveSort()],
        ['limit', LIMIT],
        ['offset', state.offset],
        ['facets', 'person,organization,place,source'],
        ['facet_limit', FACET_LIMIT],
      ]);
      if (stale()) return;
      renderResults(data);
      renderFacets(data.facets || {});
      renderActiveFilters(); // entity types are known now
      renderFooter(data.index);
    } catch (e) {
      if (stale()) return;
      showError(e, '検索');
      $('#total').textContent = '';
      $('#took').textContent = '';
      placeholder(results, '検索できませんでした。', 'muted empty');
      $('#pager').hidden = true;
    } finally {
      if (!stale()) results.removeAttribute('aria-busy');
    }
  }

  /** Only the hit list (paging, sort): same filters, so facets/timeline stay. */
  function reloadPage() {
    writeUrl();
    loadSearch();
  }

  // ---------------------------------------------------------------- results

  function renderResults(data) {
    const results = $('#results');
    lastTotal = Number(data.total) || 0;
    $('#total').textContent = `${fmt(lastTotal)} 件`;
    $('#took').textContent = typeof data.took_ms === 'number' ? `（${data.took_ms.toFixed(1)} ms）` : '';
    const hits = Array.isArray(data.hits) ? data.hits : [];
    if (!hits.length) {
      placeholder(results, '該当する記事はありません。', 'muted empty');
    } else {
      results.replaceChildren(...hits.map(renderHit));
    }
    const pager = $('#pager');
    pager.hidden = lastTotal <= LIMIT;
    $('#prev').disabled = state.offset <= 0;
    $('#next').disabled = state.offset + LIMIT >= lastTotal;
    const first = hits.length ? state.offset + 1 : 0;
    $('#page-info').textContent = `${fmt(first)}–${fmt(state.offset + hits.length)} / ${fmt(lastTotal)}`;
  }

  function renderHit(hit) {
    const li = el('li', 'hit');
    li.dataset.id = hit.id;

    const h3 = el('h3', 'hit-title');
    const a = document.createElement('a');
    a.href = `/articles/${encodeURIComponent(hit.id)}`;
    a.target = '_blank';
    a.rel = 'noopener';
    // title_html is escaped by the server; only <mark> is added.
    if (hit.title_html) a.innerHTML = hit.title_html;
    else a.textContent = hit.title || hit.id;
    h3.append(a);
    li.append(h3);

    const meta = el('div', 'hit-meta');
    const date = hit.published ? tokyoDay(hit.published) : '';
    const time = el('time', 'hit-date', date || '日付なし');
    if (date) time.dateTime = date;
    meta.append(time);
    if (hit.source) meta.append(el('span', 'hit-source', hit.source));
    if (hit.url && /^https?:\/\//i.test(hit.url)) {
      const orig = el('a', 'hit-url', '元記事');
      orig.href = hit.url;
      orig.target = '_blank';
      orig.rel = 'noopener noreferrer';
      meta.append(orig);
    }
    li.append(meta);

    // dedup=true: the other printings of this article (syndicated copies).
    if (hit.duplicates) {
      const dup = el('div', 'hit-duplicates', `同じ記事 他${hit.duplicates}件: `);
      for (const id of hit.duplicate_ids || []) {
        const link = el('a', 'hit-duplicate', id);
        link.href = `/articles/${encodeURIComponent(id)}`;
        link.target = '_blank';
        link.rel = 'noopener';
        dup.append(link, ' ');
      }
      li.append(dup);
    }

    for (const sn of hit.snippets || []) {
      const p = el('p', 'snippet');
      // Already HTML-escaped by the server with only <mark> added: intended.
      p.innerHTML = sn.html;
      li.append(p);
    }

    const chips = renderEntityChips(hit.entities || {});
    if (chips) li.append(chips);
    li.append(renderMoreToggle(hit.id));
    return li;
  }

  /** A link under a hit: an article opened in a new tab. */
  function articleLink(a, cls) {
    const link = el('a', cls, a.title || a.id);
    link.href = `/articles/${encodeURIComponent(a.id)}`;
    link.target = '_blank';
    link.rel = 'noopener';
    link.dataset.id = a.id;
    return link;
  }

  /** 「重複・関連記事」: the hit's duplicate group and related articles, loaded when opened. */
  function renderMoreToggle(id) {
    const box = el('details', 'hit-more');
    box.append(el('summary', 'hit-more-toggle', '重複・関連記事'));
    const body = el('div', 'hit-more-body');
    box.append(body);
    box.addEventListener('toggle', async () => {
      if (!box.open || box.dataset.loaded) return;
      box.dataset.loaded = '1';
      body.textContent = '読み込み中…';
      const path = `/articles/${encodeURIComponent(id)}`;
      try {
        const [dups, related] = await Promise.all([
          api(`${path}/duplicates`),
          api(`${path}/related`, [['limit', 5]]),
        ]);
        body.textContent = '';
        const dupList = el('ul', 'dup-list');
        for (const a of dups.articles || []) {
          const li = el('li', 'dup-item');
          li.append(articleLink(a, 'dup-link'));
          const when = a.published ? tokyoDay(a.published) : '日付なし';
          li.append(` ${a.source || ''} ${when} 類似度 ${Math.round(a.similarity * 100)}%`);
          dupList.append(li);
        }
        body.append(el('h4', 'more-heading', `重複 (同じ記事の別版) ${(dups.articles || []).length}件`));
        if (dups.articles && dups.articles.length) body.append(dupList);
        const relList = el('ol', 'related-list');
        for (const a of related.articles || []) {
          const li = el('li', 'related-item');
          li.append(articleLink(a, 'related-link'));
          if (a.shared_entities && a.shared_entities.length) {
            li.append(el('span', 'related-entities', ` 共通: ${a.shared_entities.slice(0, 4).join('・')}`));
          }
          relList.append(li);
        }
        body.append(el('h4', 'more-heading', '関連記事'));
        if (related.articles && related.articles.length) body.append(relList);
        else body.append(el('p', 'more-empty', '関連記事はありません'));
      } catch (e) {
        body.textContent = `読み込めませんでした: ${e.message}`;
        delete box.dataset.loaded;
      }
    });
    return box;
  }

  function renderEntityChips(entities) {
    const MAX = 12;
    const all = [];
    for (const type of ['person', 'organization', 'place']) {
      for (const name of entities[type] || []) all.push([type, name]);
    }
    if (!all.length) return null;
    const box = el('div', 'chips');
    for (const [type, name] of all.slice(0, MAX)) {
      entityTypes.set(name, entityTypes.get(name) || type);
      const b = el('button', `chip ${type}`, name);
      b.type = 'button';
      b.dataset.entity = name;
      b.dataset.type = type;
      b.title = `${TYPE_LABEL[type]}「${name}」で絞り込む`;
      if (state.entities.includes(name)) b.classList.add('active');
      box.append(b);
    }
    if (all.length > MAX) box.append(el('span', 'chip-more muted', `ほか ${all.length - MAX}`));
    return box;
  }

  // ---------------------------------------------------------------- facets

  function renderFacets(facets) {
    const box = $('#facets');
    const groups = [];
    for (const type of ['person', 'organization', 'place']) {
      const values = Array.isArray(facets[type]) ? facets[type] : [];
      const section = el('section', `facet-group ${type}`);
      section.dataset.type = type;
      section.append(el('h3', null, TYPE_LABEL[type]));
      if (!values.length) {
        section.append(el('p', 'muted small', '—'));
      } else {
        const ul = el('ul', 'facet-list');
        for (const { value, count } of values) {
          entityTypes.set(value, entityTypes.get(value) || type);
          const li = el('li');
          const b = el('button', 'facet-value');
          b.type = 'button';
          b.dataset.entity = value;
          b.dataset.type = type;
          const active = isFiltered(value, type);
          b.classList.toggle('active', active);
          b.setAttribute('aria-pressed', String(active));
          b.title = active ? `「${value}」の絞り込みを外す` : `「${value}」で絞り込む`;
          b.append(el('span', 'facet-name', value), el('span', 'facet-count', fmt(count)));
          li.append(b);
          ul.append(li);
        }
        section.append(ul);
      }
      groups.push(section);
    }
    const sources = Array.isArray(facets.source) ? facets.source : [];
    if (sources.length) {
      const section = el('section', 'facet-group source');
      section.append(el('h3', null, TYPE_LABEL.source));
      const ul = el('ul', 'facet-list');
      for (const { value, count } of sources) {
        const li = el('li');
        const b = el('button', 'facet-source');
        b.type = 'button';
        b.dataset.source = value;
        const active = state.sources.includes(value);
        b.classList.toggle('active', active);
        b.setAttribute('aria-pressed', String(active));
        b.append(el('span', 'facet-name', value), el('span', 'facet-count', fmt(count)));
        li.append(b);
        ul.append(li);
      }
      section.append(ul);
      groups.push(section);
    }
    box.replaceChildren(...groups);
  }

  // ---------------------------------------------------------------- active filters

  function renderActiveFilters() {
    const wrap = $('#active-filters');
    const chips = [];
    const chip = (label, kind, onRemove, extra) => {
      const span = el('span', `active-filter ${kind}`);
      if (extra) Object.assign(span.dataset, extra);
      span.append(el('span', 'active-filter-label', label));
      const x = el('button', 'remove', '×');
      x.type = 'button';
      x.setAttribute('aria-label', `${label} を外す`);
      x.addEventListener('click', onRemove);
      span.append(x);
      return span;
    };
    for (const name of state.entities) {
      const type = entityTypes.get(name);
      const label = type ? `${TYPE_LABEL[type]}: ${name}` : name;
      chips.push(chip(label, type || 'entity', () => removeEntity(name), { entity: name }));
    }
    for (const s of state.sources) {
      chips.push(chip(`情報源: ${s}`, 'source', () => {
        state.sources = state.sources.filter((x) => x !== s);
        runAll();
      }, { source: s }));
    }
    if (state.from || state.to) {
      chips.push(chip(`期間: ${state.from || '…'} 〜 ${state.to || '…'}`, 'dates', () => {
        state.from = '';
        state.to = '';
        runAll();
      }));
    }
    wrap.replaceChildren(...chips);
    $('#filters').hidden = chips.length === 0;
  }

  function addEntity(name, type) {
    name = (name || '').trim();
    if (!name) return;
    if (type) {
      entityTypes.set(name, type);
      state.typed.set(name, type);
    }
    if (!state.entities.includes(name)) state.entities.push(name);
    runAll();
  }

  function removeEntity(name) {
    state.entities = state.entities.filter((x) => x !== name);
    state.typed.delete(name);
    runAll();
  }

  /** Whether `name` of `type` is filtered for (an untyped filter covers every type). */
  function isFiltered(name, type) {
    return state.entities.includes(name) && (!state.typed.has(name) || state.typed.get(name) === type);
  }

  /** A facet click: off when that very filter is on; else on, with its type
   * (a filter on the same name of another type takes this type). */
  function toggleEntity(name, type) {
    if (isFiltered(name, type)) removeEntity(name);
    else addEntity(name, type);
  }

  function updateExportLink() {
    const link = $('#export');
    const qs = toQuery(filterPairs());
    link.href = qs ? `/export?${qs}` : '/export';
    link.hidden = false;
  }

  // ---------------------------------------------------------------- timeline

  /** Date span of the matching articles, from the oldest and newest hit. */
  async function matchingSpan() {
    const probe = (sort) =>
      api('/search', [...filterPairs(), ['sort', sort], ['limit', 1], ['fragments', 0]]);
    const [oldest, newest] = await Promise.all([probe('oldest'), probe('newest')]);
    const day = (r) => {
      const h = r && r.hits && r.hits[0];
      return h && h.published ? dayNumber(tokyoDay(h.published)) : null;
    };
    let a = day(oldest);
    let b = day(newest);
    if (state.from) a = a === null ? dayNumber(state.from) : Math.max(a, dayNumber(state.from));
    if (state.to) b = b === null ? dayNumber(state.to) : Math.min(b, dayNumber(state.to));
    return a === null || b === null ? null : Math.max(0, b - a);
  }

  /** year if span > 6 years, month if > 6 months, week if > 8 weeks, else day. */
  function chooseInterval(spanDays) {
    if (spanDays === null) return 'month';
    if (spanDays > 6 * 365.25) return 'year';
    if (spanDays > 6 * 30.44) return 'month';
    if (spanDays > 56) return 'week';
    return 'day';
  }

  async function loadTimeline() {
    const gen = ++gens.timeline;
    const stale = () => gen !== gens.timeline;
    clearErrors('時系列');
    const box = $('#timeline');
    box.setAttribute('aria-busy', 'true');
    try {
      let interval = state.interval;
      if (interval === 'auto') {
        const span = await matchingSpan();
        if (stale()) return;
        interval = chooseInterval(span);
      }
      const data = await api('/timeline', [...filterPairs(), ['interval', interval]]);
      if (stale()) return;
      lastTimeline = data;
      renderTimeline();
    } catch (e) {
      if (stale()) return;
      lastTimeline = null;
      showError(e, '時系列');
      placeholder(box, '時系列を表示できません。');
      $('#timeline-info').textContent = '';
    } finally {
      if (!stale()) box.removeAttribute('aria-busy');
    }
  }

  const SVGNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function dayNumber(ymd) {
    const [y, m, d] = ymd.split('-').map(Number);
    return Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
  }

  function ymdOf(dayNum) {
    return new Date(dayNum * DAY_MS).toISOString().slice(0, 10);
  }

  /** Last day (inclusive) of the bucket starting at `date`. */
  function bucketEnd(date, interval) {
    const [y, m, d] = date.split('-').map(Number);
    if (interval === 'year') return `${y}-12-31`;
    if (interval === 'month') return ymdOf(Math.floor(Date.UTC(y, m, 1) / DAY_MS) - 1);
    if (interval === 'week') return ymdOf(dayNumber(date) + 6);
    return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
  }

  function bucketLabel(date, interval, withYear) {
    if (interval === 'year') return date.slice(0, 4);
    if (interval === 'month') return withYear ? date.slice(0, 7) : date.slice(5, 7) + '月';
    const md = `${Number(date.slice(5, 7))}/${Number(date.slice(8, 10))}`;
    return withYear ? `${date.slice(0, 4)}/${md}` : md;
  }

  function bucketTitle(b, interval) {
    const range = interval === 'day' ? b.date : `${b.date} 〜 ${bucketEnd(b.date, interval)}`;
    const ratio = Number(b.ratio) || 0;
    return `${range}: ${fmt(b.count)} 件 / 全 ${fmt(b.total)} 件（比率 ${(ratio * 100).toFixed(2)}%）`;
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    const p = 10 ** Math.floor(Math.log10(v));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
    return 10 * p;
  }

  function renderTimeline() {
    const box = $('#timeline');
    const info = $('#timeline-info');
    const data = lastTimeline;
    if (!data) return;
    const buckets = Array.isArray(data.buckets) ? data.buckets : [];
    const interval = data.interval || 'month';
    const undated = Number(data.undated) || 0;
    const sum = buckets.reduce((s, b) => s + (Number(b.count) || 0), 0);
    info.textContent =
      `${INTERVAL_LABEL[interval] || interval}単位 · ${fmt(buckets.length)} 区間 · 計 ${fmt(sum)} 件` +
      (undated ? ` · 日付なし ${fmt(undated)} 件` : '');
    if (!buckets.length) {
      placeholder(box, '該当する記事がないため、時系列はありません。');
      return;
    }

    const W = Math.max(320, Math.floor(box.clientWidth || 700));
    const H = 170;
    const m = { left: 44, right: 48, top: 12, bottom: 26 };
    const pw = W - m.left - m.right;
    const ph = H - m.top - m.bottom;
    const n = buckets.length;
    const maxCount = niceMax(Math.max(...buckets.map((b) => Number(b.count) || 0)));
    const maxRatio = Math.max(...buckets.map((b) => Number(b.ratio) || 0));
    const ratioTop = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1].find((r) => r >= maxRatio) || 1;
    const bw = pw / n;
    const gap = bw > 4 ? Math.min(bw * 0.18, 6) : 0;

    const root = svg('svg', {
      class: 'timeline-svg',
      viewBox: `0 0 ${W} ${H}`,
      width: W,
      height: H,
      role: 'img',
      'aria-label': `記事数の推移（${INTERVAL_LABEL[interval] || interval}単位）`,
    });

    // Grid and axes.
    const grid = svg('g', { class: 'grid' });
    for (const f of [0, 0.5, 1]) {
      const y = m.top + ph - f * ph;
      grid.append(svg('line', { x1: m.left, x2: m.left + pw, y1: y, y2: y }));
      grid.append(svg('text', { x: m.left - 6, y: y + 4, 'text-anchor': 'end', class: 'axis-count' }, fmt(maxCount * f)));
      if (maxRatio > 0) {
        grid.append(svg('text', { x: m.left + pw + 6, y: y + 4, class: 'axis-ratio' }, `${+(ratioTop * f * 100).toFixed(2)}%`));
      }
    }
    root.append(grid);

    // Bars: one rect.bucket per bucket.
    const bars = svg('g', { class: 'bars' });
    const points = [];
    buckets.forEach((b, i) => {
      const count = Number(b.count) || 0;
      const x = m.left + i * bw;
      let h = (count / maxCount) * ph;
      if (count > 0 && h < 1.5) h = 1.5;
      const g = svg('g', { class: 'bucket-group', tabindex: bw >= 8 ? 0 : -1 });
      g.dataset.index = i;
      g.append(svg('rect', { class: 'bucket-hover', x, y: m.top, width: Math.max(bw, 0.5), height: ph }));
      const rect = svg('rect', {
        class: 'bucket',
        x: x + gap,
        y: m.top + ph - h,
        width: Math.max(bw - 2 * gap, 0.5),
        height: h,
        'data-date': b.date,
        'data-count': count,
        'data-total': Number(b.total) || 0,
        'data-ratio': Number(b.ratio) || 0,
      });
      rect.append(svg('title', {}, bucketTitle(b, interval)));
      g.append(rect);
      bars.append(g);
      // No point where the archive has no article at all: the ratio is undefined there.
      points.push(Number(b.total) > 0 ? [x + bw / 2, m.top + ph - ((Number(b.ratio) || 0) / ratioTop) * ph] : null);
    });
    root.append(bars);

    // Ratio line (share of all articles of the bucket), broken where the
    // archive is empty; left out when the buckets are too thin to read it.
    const drawRatio = maxRatio > 0 && bw >= 3;
    if (drawRatio) {
      let d = '';
      let pen = false;
      for (const p of points) {
        if (!p) {
          pen = false;
          continue;
        }
        d += `${pen ? 'L' : 'M'}${p[0].toFixed(1)},${p[1].toFixed(1)}`;
        pen = true;
      }
      root.append(svg('path', { class: 'ratio-line', d }));
      if (n <= 80) {
        const dots = svg('g', { class: 'ratio-dots' });
        for (const p of points) if (p) dots.append(svg('circle', { cx: p[0].toFixed(1), cy: p[1].toFixed(1), r: 2.2 }));
        root.append(dots);
      }
    }

    // X labels.
    const maxLabels = Math.max(2, Math.floor(pw / 64));
    const step = Math.max(1, Math.ceil(n / maxLabels));
    const labels = svg('g', { class: 'x-labels' });
    let prevYear = null;
    for (let i = 0; i < n; i += step) {
      const date = buckets[i].date;
      const year = date.slice(0, 4);
      const withYear = prevYear !== year;
      prevYear = year;
      labels.append(svg('text', { x: m.left + i * bw + bw / 2, y: H - 8, 'text-anchor': 'middle' }, bucketLabel(date, interval, withYear)));
    }
    root.append(labels);

    const legend = el('div', 'timeline-legend');
    legend.append(
      el('span', 'legend-bar', '件数'),
      drawRatio || maxRatio === 0
        ? el('span', 'legend-line', '比率（該当件数 ÷ その期間の全記事数）')
        : el('span', 'muted', '区間が細かいため比率の線は省略（棒にカーソルで表示）'),
      el('span', 'legend-hint muted', '棒をクリックでその期間に絞り込み'),
    );
    const readout = el('div', 'timeline-readout', '\u00a0');
    readout.id = 'timeline-readout';

    const show = (i) => {
      readout.textContent = bucketTitle(buckets[i], interval);
    };
    root.addEventListener('mouseover', (ev) => {
      const g = ev.target.closest && ev.target.closest('.bucket-group');
      if (g) show(Number(g.dataset.index));
    });
    root.addEventListener('focusin', (ev) => {
      const g = ev.target.closest && ev.target.closest('.bucket-group');
      if (g) show(Number(g.dataset.index));
    });
    const drill = (ev) => {
      const g = ev.target.closest && ev.target.closest('.bucket-group');
      if (!g) return;
      const b = buckets[Number(g.dataset.index)];
      state.from = b.date;
      state.to = bucketEnd(b.date, interval);
      if (state.interval !== 'auto') state.interval = 'auto';
      runAll();
    };
    root.addEventListener('click', drill);
    root.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        drill(ev);
      }
    });

    box.replaceChildren(root, readout, legend);
  }

  // ---------------------------------------------------------------- co-occurrence

  async function loadCooccurrence() {
    const gen = ++gens.co;
    const stale = () => gen !== gens.co;
    clearErrors('共起');
    const box = $('#cooccurrence');
    lastCooccurrence = null;
    if (state.entities.length !== 1) {
      placeholder(
        box,
        state.entities.length === 0
          ? 'エンティティを 1 つだけ絞り込むと、同じ記事に現れるエンティティを表示します。'
          : '共起は絞り込みのエンティティが 1 つのときに表示します。',
      );
      return;
    }
    const entity = state.entities[0];
    placeholder(box, `「${entity}」の共起を読み込み中…`);
    box.setAttribute('aria-busy', 'true');
    try {
      const data = await api('/cooccurrence', [
        ['entity', entity],
        ['type', state.typed.get(entity) || ''],
        ['limit', CO_LIMIT],
        ['sort', state.coSort === 'lift' ? 'lift' : ''],
        ...filterPairs().filter(([k]) => k !== 'entity' && !ENTITY_TYPES.includes(k)),
      ]);
      if (stale()) return;
      lastCooccurrence = data;
      renderCooccurrence();
    } catch (e) {
      if (stale()) return;
      showError(e, '共起');
      placeholder(box, '共起を表示できません。');
    } finally {
      if (!stale()) box.removeAttribute('aria-busy');
    }
  }

  function renderCooccurrence() {
    const box = $('#cooccurrence');
    const data = lastCooccurrence;
    if (!data) return;
    const ent = data.entity || {};
    const name = ent.canonical || state.entities[0];
    if (ent.type && !entityTypes.has(state.entities[0])) {
      entityTypes.set(state.entities[0], ent.type);
      renderActiveFilters();
    }
    const entType = ent.type || entityTypes.get(state.entities[0]);
    const all = Array.isArray(data.items) ? data.items : [];
    const items = all.filter((it) => !state.coType || it.type === state.coType).slice(0, CO_SHOWN);

    const head = el('p', 'co-head');
    head.append(
      el('strong', null, name),
      entType ? el('span', `type-badge ${entType}`, TYPE_LABEL[entType] || entType) : '',
      ` を含む記事 ${fmt(data.documents)} 件`,
    );
    const nodes = [head];
    if (!items.length) {
      nodes.push(el('p', 'muted', '共起するエンティティはありません。'));
    } else {
      const table = el('table', 'co-table');
      const thead = el('thead');
      const tr = el('tr');
      for (const [t, cls] of [['名前', ''], ['種類', ''], ['共起', 'num'], ['リフト', 'num']]) {
        const th = el('th', cls, t);
        th.scope = 'col';
        tr.append(th);
      }
      thead.append(tr);
      const tbody = el('tbody');
      for (const it of items) {
        entityTypes.set(it.name, entityTypes.get(it.name) || it.type);
        const row = el('tr', 'co-item');
        row.dataset.entity = it.name;
        const b = el('button', 'co-name', it.name);
        b.type = 'button';
        b.dataset.entity = it.name;
        b.dataset.type = it.type;
        b.title = `「${it.name}」を絞り込みに追加${typeof it.pmi === 'number' ? `（PMI ${it.pmi.toFixed(2)}）` : ''}`;
        const td = (child, cls) => {
          const c = el('td', cls);
          c.append(child);
          return c;
        };
        row.append(
          td(b),
          td(el('span', `type-badge ${it.type}`, TYPE_LABEL[it.type] || it.type || '')),
          td(fmt(it.count), 'num'),
          td(typeof it.lift === 'number' ? it.lift.toFixed(2) : '—', 'num'),
        );
        tbody.append(row);
      }
      table.append(thead, tbody);
      nodes.push(table);
      nodes.push(el('p', 'muted small', 'リフト = 実際の共起数 ÷ 独立なら期待される共起数（1 より大きいほど結びつきが強い）'));
    }
    box.replaceChildren(...nodes);
  }

  // ---------------------------------------------------------------- entity suggestions

  let suggestTimer = 0;
  let suggestGen = 0;
  async function suggestEntities(prefix) {
    const gen = ++suggestGen;
    const list = $('#entity-suggestions');
    if (!prefix) {
      list.replaceChildren();
      return;
    }
    try {
      const items = await api('/entities', [['prefix', prefix], ['limit', 15]]);
      if (gen !== suggestGen) return;
      list.replaceChildren(
        ...(Array.isArray(items) ? items : []).map((it) => {
          entityTypes.set(it.name, entityTypes.get(it.name) || it.type);
          const o = document.createElement('option');
          o.value = it.name;
          o.label = `${TYPE_LABEL[it.type] || it.type} · ${fmt(it.documents)} 件`;
          return o;
        }),
      );
    } catch (e) {
      if (gen === suggestGen) showError(e, 'エンティティ候補');
      return;
    }
    if (gen === suggestGen) clearErrors('エンティティ候補');
  }

  // ---------------------------------------------------------------- footer

  function renderFooter(index) {
    const f = $('#footer');
    if (!index) return;
    const parts = [`索引 ${fmt(index.documents)} 記事`];
    if (index.dictionary && index.dictionary.name) parts.push(`辞書 ${index.dictionary.name}`);
    const at = index.commit && index.commit.committed_at;
    if (at) parts.push(`更新 ${String(at).slice(0, 16).replace('T', ' ')} UTC`);
    f.textContent = parts.join(' · ');
  }

  // ---------------------------------------------------------------- wiring

  function init() {
    readUrl();
    syncControls();

    $('#search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      state.q = $('#q').value;
      runAll();
    });
    $('#match').addEventListener('change', (ev) => {
      state.match = ev.target.value;
      if (state.q.trim()) runAll();
      else writeUrl();
    });
    $('#dedup').addEventListener('change', (ev) => {
      state.dedup = ev.target.checked;
      state.offset = 0;
      runAll();
    });
    $('#sort').addEventListener('change', (ev) => {
      state.sort = ev.target.value;
      state.offset = 0;
      reloadPage();
    });
    for (const id of ['from', 'to']) {
      $(`#${id}`).addEventListener('change', (ev) => {
        const v = validDate(ev.target.value);
        if (v === state[id]) return;
        state[id] = v;
        runAll();
      });
    }
    $('#interval').addEventListener('change', (ev) => {
      state.interval = ev.target.value;
      writeUrl();
      loadTimeline(); // same search: only the timeline changes
    });
    $('#co-sort').addEventListener('change', (ev) => {
      state.coSort = ev.target.value;
      loadCooccurrence();
    });
    $('#co-type').addEventListener('change', (ev) => {
      state.coType = ev.target.value;
      renderCooccurrence();
    });
    $('#prev').addEventListener('click', () => {
      state.offset = Math.max(0, state.offset - LIMIT);
      reloadPage();
      $('#results').scrollIntoView({ block: 'start' });
    });
    $('#next').addEventListener('click', () => {
      state.offset += LIMIT;
      reloadPage();
      $('#results').scrollIntoView({ block: 'start' });
    });
    $('#error-close').addEventListener('click', clearErrors);
    $('#clear-filters').addEventListener('click', () => {
      state.entities = [];
      state.sources = [];
      state.from = '';
      state.to = '';
      runAll();
    });

    // Facet values, hit chips and co-occurring entities all add filters.
    document.addEventListener('click', (ev) => {
      const t = ev.target.closest && ev.target.closest('.facet-value, .chip, .co-name, .facet-source');
      if (!t) return;
      if (t.classList.contains('facet-source')) {
        const s = t.dataset.source;
        state.sources = state.sources.includes(s) ? state.sources.filter((x) => x !== s) : [...state.sources, s];
        runAll();
      } else if (t.classList.contains('facet-value')) {
        toggleEntity(t.dataset.entity, t.dataset.type);
      } else {
        addEntity(t.dataset.entity, t.dataset.type);
      }
    });

    const entityInput = $('#entity-input');
    entityInput.addEventListener('input', () => {
      clearTimeout(suggestTimer);
      const v = entityInput.value.trim();
      // A pick from the datalist arrives as an input event whose value is an option.
      const picked = [...$('#entity-suggestions').options].some((o) => o.value === v);
      if (picked && v) {
        entityInput.value = '';
        addEntity(v);
        return;
      }
      suggestTimer = setTimeout(() => suggestEntities(v), 200);
    });
    entityInput.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') {
        ev.preventDefault();
        const v = entityInput.value.trim();
        entityInput.value = '';
        if (v) addEntity(v);
      }
    });

    document.addEventListener('keydown', (ev) => {
      if (ev.key === '/' && !/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName)) {
        ev.preventDefault();
        $('#q').focus();
      }
    });

    let resizeTimer = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(renderTimeline, 150);
    });

    runAll();
  }

  // Uncaught script errors are shown too, never swallowed.
  window.addEventListener('error', (ev) => showError(ev.error || ev.message, 'スクリプト', `script-${Date.now()}`));
  window.addEventListener('unhandledrejection', (ev) => showError(ev.reason, 'スクリプト', `script-${Date.now()}`));

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
