// serve_browser.js — the dashboard in a real browser: Debian's Chromium driven by playwright-core.
// node serve_browser.js BASE ACCOUNT ANOMALY_ACCOUNT ARTIFACT_DIR — TAP lines; exit 1 on a failure.
const { chromium } = require('playwright-core');

const [base, account, anomalyAccount, artifacts] = process.argv.slice(2);
let fails = 0;
const ok = (name, cond, detail) => {
  if (cond) console.log('ok - ' + name);
  else { fails++; console.log('not ok - ' + name + (detail !== undefined ? ' (' + JSON.stringify(detail).slice(0, 300) + ')' : '')); }
};
const api = async (path) => (await fetch(base + path)).json();
const m3 = (v) => v.toFixed(2) + ' m³';
const money = (b) => b.currency + ' ' + b.bill.mean.toFixed(2);

async function expected(acc, period) {
  const q = 'account=' + acc + '&from=' + period.from + '&to=' + period.to;
  return { fc: await api('/api/forecast?' + q), bill: await api('/api/bill?' + q) };
}

async function shown(page) {
  await page.waitForSelector('#result:not([hidden]) #total:not(:empty)');
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('Forecast shown'));
  return { total: await page.textContent('#total'), bill: await page.textContent('#bill'),
           title: await page.textContent('#result-title') };
}

function watch(page, problems) {
  page.on('console', (m) => { if (m.type() === 'error') problems.push('console: ' + m.text()); });
  page.on('pageerror', (e) => problems.push('pageerror: ' + e.message));
  page.on('requestfailed', (r) => problems.push('failed: ' + r.url()));
  page.on('request', (r) => { if (!r.url().startsWith(base)) problems.push('external: ' + r.url()); });
}

async function desktop(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  const problems = [];
  watch(page, problems);
  await page.goto(base + '/');
  ok('dashboard loads with its title', (await page.title()).includes('water forecast'));
  const acc = await api('/api/accounts/' + account);
  await page.fill('#account', account);
  await page.check('input[name=period][value="30"]');
  await page.click('#show');
  let s = await shown(page);
  let e = await expected(account, acc.periods.next_30);
  ok('next 30 days: the total shown = the API total', s.total === m3(e.fc.total_m3.mean), [s.total, e.fc.total_m3.mean]);
  ok('next 30 days: the bill shown = the API bill', s.bill === money(e.bill), [s.bill, e.bill.bill]);
  ok('next 30 days: the range shown = the API interval',
    (await page.textContent('#total-range')).includes(m3(e.fc.total_m3.lo80) + ' and ' + m3(e.fc.total_m3.hi80)));
  ok('chart drawn (uPlot canvas) with the daily table', (await page.$$('#chart canvas')).length === 1
    && (await page.$$('#days tbody tr')).length === 30);
  await page.check('input[name=period][value="cycle"]');
  await page.waitForFunction((t) => document.getElementById('result-title').textContent.includes(t), acc.periods.next_cycle.from);
  s = await shown(page);
  e = await expected(account, acc.periods.next_cycle);
  ok('next billing cycle: total and bill = the API', s.total === m3(e.fc.total_m3.mean) && s.bill === money(e.bill), [s, e.bill.bill]);
  await page.check('input[name=period][value="range"]');
  ok('dates of my choice: the date fields appear', await page.isVisible('#from'));
  const from = acc.periods.next_7.to, to = acc.periods.next_30.to;
  await page.fill('#from', from);
  await page.fill('#to', to);
  await page.click('#show');
  await page.waitForFunction((t) => document.getElementById('result-title').textContent.includes(t), from + ' to ' + to);
  s = await shown(page);
  e = await expected(account, { from, to });
  ok('dates of my choice: total and bill = the API', s.total === m3(e.fc.total_m3.mean) && s.bill === money(e.bill), [s, e.fc.total_m3]);
  await page.screenshot({ path: artifacts + '/desktop.png', fullPage: true });
  const labels = await page.$$eval('input', (xs) => xs.filter((x) => x.type !== 'hidden' && x.labels.length === 0).map((x) => x.id || x.name));
  ok('every input has a label', labels.length === 0, labels);
  const contrast = await page.evaluate(() => {
    const lum = (c) => { const v = c.match(/[\d.]+/g).slice(0, 3).map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
      return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const bg = getComputedStyle(document.body).backgroundColor;
    return ['body', '#total', '.help', 'label', '#show'].map((sel) => {
      const el = document.querySelector(sel), cs = getComputedStyle(el);
      const back = sel === '#show' ? cs.backgroundColor : bg;
      return [sel, ratio(cs.color, back)];
    });
  });
  ok('text contrast >= 4.5:1 (WCAG AA)', contrast.every(([, r]) => r >= 4.5), contrast);
  ok('no console error, failed or external request', problems.length === 0, problems);
  await page.fill('#account', '1');
  await page.click('#show');
  await page.waitForSelector('#account-error:not([hidden])');
  ok('an unknown account: a plain error next to the field', (await page.textContent('#account-error')).includes('do not know account 1'));
  await page.fill('#account', anomalyAccount);
  await page.check('input[name=period][value="7"]');
  await page.click('#show');
  await page.waitForFunction((a) => document.getElementById('result-title').textContent.includes(a), anomalyAccount);
  const an = await api('/api/accounts/' + anomalyAccount);
  ok('an account with a leak or stuck-meter flag: the notice in plain words', await page.isVisible('#notice')
    && (await page.textContent('#notice')) === an.anomaly.notice, an.anomaly);
  await page.screenshot({ path: artifacts + '/desktop-notice.png', fullPage: true });
  const rest = problems.filter((p) => !p.includes('status of 404'));
  ok('after the unknown account: only its 404, no other error', rest.length === 0, rest);
  await ctx.close();
}

async function phone(browser) {
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await ctx.newPage();
  await page.goto(base + '/?account=' + anomalyAccount);
  await shown(page);
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  ok('phone width: no horizontal scrolling (scrollWidth ' + w + ' <= 390)', w <= 390, w);
  const fs = await page.$eval('#total', (el) => parseFloat(getComputedStyle(el).fontSize));
  ok('phone width: the total is large (>= 20 px)', fs >= 20, fs);
  await page.screenshot({ path: artifacts + '/phone.png', fullPage: true });
  await ctx.close();
}

async function keyboard(browser) {
  const ctx = await browser.newContext({ viewport: { width: 1024, height: 800 } });
  const page = await ctx.newPage();
  await page.goto(base + '/');
  const focused = () => page.evaluate(() => document.activeElement.id || document.activeElement.value || document.activeElement.tagName);
  await page.keyboard.press('Tab');
  ok('keyboard: first Tab reaches the skip link', (await page.evaluate(() => document.activeElement.className)) === 'skip');
  await page.keyboard.press('Tab');
  ok('keyboard: then the account field', (await focused()) === 'account');
  await page.keyboard.type(account);
  await page.keyboard.press('Tab');
  ok('keyboard: then the period group (the checked radio)', (await focused()) === '30');
  await page.keyboard.press('ArrowRight');
  ok('keyboard: arrow keys move the period to 90 days', (await focused()) === '90'
    && await page.isChecked('input[name=period][value="90"]'));
  const outline = await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
  ok('keyboard: the focused control shows an outline', outline !== 'none', outline);
  await page.keyboard.press('Tab');
  const f2 = await focused();
  ok('keyboard: then the Show button', f2 === 'show', f2);
  await page.keyboard.press('Enter');
  const s = await shown(page);
  const acc = await api('/api/accounts/' + account);
  const e = await expected(account, acc.periods.next_90);
  ok('keyboard only: 90 days shown, total and bill = the API', s.total === m3(e.fc.total_m3.mean) && s.bill === money(e.bill), [s, e.fc.total_m3]);
  ok('keyboard: focus moves to the result', (await focused()) === 'result');
  await page.screenshot({ path: artifacts + '/keyboard.png' });
  await ctx.close();
}

(async () => {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  try {
    await desktop(browser);
    await phone(browser);
    await keyboard(browser);
  } catch (err) {
    ok('browser run finished', false, String(err && err.stack || err));
  } finally {
    await browser.close();
  }
  process.exit(fails ? 1 : 0);
})();
