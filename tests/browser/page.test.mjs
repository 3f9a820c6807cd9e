// Headless-browser test of the kiji dashboard page (web/ served by kiji at `/`).
//
//   KIJI_URL=http://127.0.0.1:18080 node page.test.mjs
//
// Needs a running kiji with at least the 5-article sample corpus (corpus/)
// ingested, Debian's chromium at /usr/bin/chromium (or $CHROMIUM) and
// `npm ci` in this folder. Optional: KIJI_SCREENSHOT=/path/shot.png.
// Prints one line per check and ends with "N passed, M failed"; exits 1 on failure.
import { chromium } from 'playwright-core';

const BASE = (process.env.KIJI_URL || 'http://127.0.0.1:18080').replace(/\/+$/, '');
const SCREENSHOT = process.env.KIJI_SCREENSHOT || '';
const EXECUTABLE = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT = Number(process.env.KIJI_TEST_TIMEOUT_MS || 20000);
const ORIGIN = new URL(BASE).origin;

let passed = 0;
let failed = 0;

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok ${passed + failed} - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok ${passed + failed} - ${name}`);
    console.log(`    ${String((e && e.message) || e).split('\n').join('\n    ')}`);
  }
}

const parseTotal = (text) => {
  const m = String(text || '').replace(/[,，]/g, '').match(/(\d+)/);
  return m ? Number(m[1]) : NaN;
};

/** The entity filters in a page URL: entity=, person=, organization=, place=. */
const filtersOf = (url) => {
  const p = new URL(url).searchParams;
  return ['entity', 'person', 'organization', 'place'].flatMap((k) => p.getAll(k));
};

/** Waits until the page has no API request in flight (body[data-state=ready]) and `pred` holds. */
async function settle(page, pred = '() => true', arg) {
  await page.waitForFunction(
    ([src, a]) => document.body.dataset.state === 'ready' && new Function(`return (${src})`)()(a),
    [String(pred), arg],
    { timeout: TIMEOUT },
  );
}

async function main() {
  const browser = await chromium.launch({
    executablePath: EXECUTABLE,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, locale: 'ja-JP' });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);

  // Problems collected for check 6.
  const pageErrors = [];
  const badRequests = [];
  let expectFailures = false; // set while a failure is provoked on purpose
  page.on('pageerror', (err) => pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('requestfailed', (req) => {
    if (!req.url().startsWith(ORIGIN) || expectFailures) return;
    badRequests.push(`${req.method()} ${req.url()} failed: ${req.failure() && req.failure().errorText}`);
  });
  page.on('response', (res) => {
    if (!res.url().startsWith(ORIGIN) || expectFailures) return;
    if (res.status() >= 400) badRequests.push(`${res.request().method()} ${res.url()} → HTTP ${res.status()}`);
  });
  page.on('console', (msg) => {
    if (msg.type() === 'error' && process.env.KIJI_TEST_VERBOSE) console.log(`    [console] ${msg.text()}`);
  });

  let totalBefore = NaN;

  // 1. The page loads at / with its assets.
  await check('page loads at / and its title contains "kiji"', async () => {
    const res = await page.goto(`${BASE}/`, { waitUntil: 'load' });
    assert(res && res.ok(), `GET / answered ${res && res.status()}`);
    const title = await page.title();
    assert(title.includes('kiji'), `title is ${JSON.stringify(title)}`);
    for (const sel of ['#q', '#results', '#facets', '#timeline', '#cooccurrence', '#total']) {
      assert(await page.$(sel), `missing ${sel}`);
    }
    // The stylesheet applied (served at /assets/style.css).
    const display = await page.$eval('.layout', (n) => getComputedStyle(n).display);
    assert(display === 'grid', `stylesheet not applied (.layout display=${display})`);
    await settle(page);
  });

  // 2. A search from the box (Enter) shows highlighted hits.
  await check('typing 北朝鮮 into #q and pressing Enter shows hits with <mark>北朝鮮</mark>', async () => {
    await page.fill('#q', '北朝鮮');
    await page.press('#q', 'Enter');
    await page.waitForURL((u) => new URL(u).searchParams.get('q') === '北朝鮮');
    await settle(page, () => document.querySelectorAll('#results .hit').length > 0);
    const hits = await page.$$eval('#results .hit', (n) => n.length);
    assert(hits >= 1, `no .hit in #results`);
    const marks = await page.$$eval('#results mark', (ms) => ms.map((m) => m.textContent));
    assert(marks.includes('北朝鮮'), `no <mark>北朝鮮</mark> in #results (marks: ${JSON.stringify(marks.slice(0, 5))})`);
    const link = await page.$eval('#results .hit a[href^="/articles/"]', (a) => a.getAttribute('href'));
    assert(link, 'hit title does not link to /articles/{id}');
    totalBefore = parseTotal(await page.textContent('#total'));
    assert(totalBefore >= hits, `#total ${JSON.stringify(await page.textContent('#total'))} is not a count ≥ ${hits}`);
  });

  // 3. Facets; clicking the place ロシア adds a place filter that finds what the facet counted.
  await check('clicking the place facet ロシア adds an .active-filter, place= in the URL, the total the facet showed', async () => {
    const values = await page.$$eval('#facets .facet-value', (n) => n.length);
    assert(values >= 1, 'no .facet-value in #facets');
    let target = await page.$('#facets .facet-value[data-type="place"][data-entity="ロシア"]');
    if (!target) target = await page.$('#facets .facet-value[data-entity="ロシア"]');
    assert(target, 'no .facet-value with data-entity="ロシア" in #facets');
    const counted = parseTotal(await target.$eval('.facet-count', (n) => n.textContent));
    await target.click();
    await page.waitForURL((u) => filtersOf(u).includes('ロシア'));
    await settle(page, () => document.querySelectorAll('.active-filter').length > 0);
    assert(new URL(page.url()).searchParams.getAll('place').includes('ロシア'), `URL has no place=ロシア: ${page.url()}`);
    assert(parseTotal(await page.textContent('#total')) === counted, `the facet showed ${counted}, the filter finds ${await page.textContent('#total')}`);
    const chips = await page.$$eval('.active-filter', (n) => n.map((x) => x.textContent));
    assert(chips.some((t) => t.includes('ロシア')), `no .active-filter for ロシア: ${JSON.stringify(chips)}`);
    const after = parseTotal(await page.textContent('#total'));
    assert(after <= totalBefore, `total grew from ${totalBefore} to ${after}`);
    assert((await page.$$eval('#results .hit', (n) => n.length)) >= 1, 'no hits left after the filter');
  });

  // 4. Timeline.
  await check('#timeline has at least one .bucket', async () => {
    await settle(page, () => document.querySelectorAll('#timeline .bucket').length > 0 || !document.querySelector('#error').hidden);
    const n = await page.$$eval('#timeline .bucket', (b) => b.length);
    const err = await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent.trim()));
    assert(n >= 1, `no .bucket in #timeline${err ? ` (error box: ${err})` : ''}`);
    const counted = await page.$$eval('#timeline .bucket', (b) => b.reduce((s, r) => s + Number(r.dataset.count || 0), 0));
    assert(counted >= 1, 'the buckets count no article');
  });

  // 5. Co-occurrence with exactly one entity filter.
  await check('with one entity filter, #cooccurrence lists at least one item', async () => {
    await settle(page, () => document.querySelectorAll('#cooccurrence .co-item').length > 0 || !document.querySelector('#error').hidden);
    const items = await page.$$eval('#cooccurrence .co-item', (r) => r.map((x) => x.dataset.entity));
    const err = await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent.trim()));
    assert(items.length >= 1, `no .co-item in #cooccurrence${err ? ` (error box: ${err})` : ''}`);
    assert(!items.includes('ロシア'), 'the filter entity lists itself');
  });

  if (SCREENSHOT) {
    await page.evaluate(() => {
      window.scrollTo(0, 0);
      for (const n of document.querySelectorAll('.col')) n.scrollTop = 0;
    });
    await page.screenshot({ path: SCREENSHOT, fullPage: false });
    console.log(`# screenshot: ${SCREENSHOT}`);
  }

  // 6. Nothing went wrong so far.
  await check('no uncaught page errors, no failed requests, no error box', async () => {
    assert(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
    assert(badRequests.length === 0, `failed requests:\n${badRequests.join('\n')}`);
    const err = await page.$eval('#error', (e) => (e.hidden ? '' : e.textContent.trim()));
    assert(!err, `error box shown: ${err}`);
  });

  // 7. The page state survives a reload (shareable URL).
  await check('reloading the URL restores the query, the filter and the hits', async () => {
    const url = page.url();
    await page.goto(url, { waitUntil: 'load' });
    await settle(page, () => document.querySelectorAll('#results .hit').length > 0);
    assert((await page.inputValue('#q')) === '北朝鮮', `#q is ${JSON.stringify(await page.inputValue('#q'))}`);
    const chips = await page.$$eval('.active-filter', (n) => n.map((x) => x.textContent));
    assert(chips.some((t) => t.includes('ロシア')), `filter not restored: ${JSON.stringify(chips)}`);
    assert(page.url() === url, `URL changed from ${url} to ${page.url()}`);
  });

  // 8. Clicking a co-occurring entity adds it as a second (ANDed) filter.
  await check('clicking a co-occurring entity adds a second entity= filter', async () => {
    await settle(page, () => document.querySelectorAll('#cooccurrence .co-name').length > 0);
    const name = await page.$eval('#cooccurrence .co-name', (b) => b.dataset.entity);
    await page.click('#cooccurrence .co-name');
    await page.waitForURL((u) => filtersOf(u).length === 2);
    await settle(page);
    const entities = filtersOf(page.url());
    assert(entities.includes(name) && entities.includes('ロシア'), `URL entities: ${JSON.stringify(entities)}`);
    assert((await page.$$eval('.active-filter', (n) => n.length)) >= 2, 'expected two .active-filter chips');
    assert((await page.$$eval('#cooccurrence .co-item', (n) => n.length)) === 0, 'co-occurrence should wait for a single filter');
    // Removing the filters again goes back to the plain query.
    await page.click('#clear-filters');
    await page.waitForURL((u) => filtersOf(u).length === 0);
    await settle(page, () => document.querySelectorAll('.active-filter').length === 0);
    assert(parseTotal(await page.textContent('#total')) === totalBefore, 'total after clearing differs from the plain query');
  });

  // 8b. A hit's duplicates and related articles, loaded when its 「重複・関連記事」 opens.
  await check('opening a hit\'s 重複・関連記事 lists its duplicate group and related articles', async () => {
    await page.goto(`${BASE}/?q=${encodeURIComponent('北朝鮮 ロシア 派兵')}`, { waitUntil: 'load' });
    await settle(page, () => document.querySelectorAll('#results .hit .hit-more').length > 0);
    const hit = await page.$('#results .hit');
    const id = await hit.getAttribute('data-id');
    await hit.$eval('.hit-more-toggle', (n) => n.click());
    await settle(page, () => document.querySelectorAll('#results .hit .related-link, #results .hit .more-empty').length > 0);
    const headings = await hit.$$eval('.more-heading', (n) => n.map((x) => x.textContent));
    assert(headings.some((t) => t.startsWith('重複')), `no duplicates heading: ${JSON.stringify(headings)}`);
    const related = await hit.$$eval('.related-link', (n) => n.map((a) => a.dataset.id));
    assert(related.length >= 1, `no .related-link under ${id}`);
    assert(!related.includes(id), `${id} is listed as related to itself`);
    const href = await hit.$eval('.related-link', (a) => a.getAttribute('href'));
    assert(href.startsWith('/articles/'), `related link ${href}`);
  });

  // 9. API errors are shown, not swallowed: make /timeline answer 404 like an old server.
  await check('an API error (/timeline 404) is shown in #error and the rest still works', async () => {
    assert(badRequests.length === 0 && pageErrors.length === 0, `problems before this check: ${[...pageErrors, ...badRequests].join('; ')}`);
    expectFailures = true;
    await page.route(/\/timeline(\?|$)/, (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'not_found', message: 'no endpoint GET /timeline (see /openapi.json)' } }),
      }),
    );
    try {
      await page.fill('#q', 'ロシア');
      await page.click('#search-button');
      await settle(page, () => !document.querySelector('#error').hidden);
      const text = await page.textContent('#error');
      assert(await page.isVisible('#error'), '#error is not visible');
      assert(text.includes('not_found') && text.includes('/timeline'), `#error says ${JSON.stringify(text)}`);
      assert((await page.$$eval('#results .hit', (n) => n.length)) >= 1, 'the hits should still show');
    } finally {
      await page.unroute(/\/timeline(\?|$)/);
      expectFailures = false;
    }
    assert(pageErrors.length === 0, `page errors:\n${pageErrors.join('\n')}`);
  });

  await browser.close();
}

try {
  await main();
} catch (e) {
  failed++;
  console.log(`not ok - test run aborted: ${(e && e.stack) || e}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
