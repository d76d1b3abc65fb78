// app.js — the aquacast dashboard: account and period pickers, the forecast chart (uPlot, bundled), total and bill.
import uPlot from 'uplot';

const $ = (id) => document.getElementById(id);
const DAY = 86400;
let chart = null;
let last = null; // {account, fc}

function dayToSec(iso) { return Date.parse(iso + 'T00:00:00Z') / 1000; }
function secToDay(s) { return new Date(s * 1000).toISOString().slice(0, 10); }
function addDays(iso, n) { return secToDay(dayToSec(iso) + n * DAY); }
function m3(v) { return v.toFixed(2) + ' m³'; }
function money(cur, v) { return cur + ' ' + v.toFixed(2); }

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: 'application/json' } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: 'the server sent no JSON (' + r.status + ')' }; }
  if (!r.ok) { const err = new Error(body.error || ('HTTP ' + r.status)); err.status = r.status; throw err; }
  return body;
}

function showError(msg) {
  const el = $('account-error');
  el.textContent = msg;
  el.hidden = !msg;
  $('account').setAttribute('aria-invalid', msg ? 'true' : 'false');
}

let suggestTimer = null;
function suggest() {
  const q = $('account').value.trim();
  clearTimeout(suggestTimer);
  if (!/^[0-9]{2,18}$/.test(q)) return;
  suggestTimer = setTimeout(async () => {
    try {
      const r = await getJSON('/api/accounts?q=' + encodeURIComponent(q) + '&limit=10');
      const dl = $('account-list');
      dl.replaceChildren(...r.accounts.map((a) => { const o = document.createElement('option'); o.value = String(a); return o; }));
    } catch (e) { /* suggestions are optional */ }
  }, 150);
}

function periodOf(acc) {
  const v = document.querySelector('input[name=period]:checked').value;
  if (v === '7' || v === '30' || v === '90') return acc.periods['next_' + v];
  if (v === 'cycle') return acc.periods.next_cycle || null;
  return { from: $('from').value, to: $('to').value };
}

function rangeLimits(acc) {
  for (const id of ['from', 'to']) { $(id).min = acc.forecast_from; $(id).max = acc.forecast_until_max; }
  if (!$('from').value) $('from').value = acc.forecast_from;
  if (!$('to').value) $('to').value = addDays(acc.forecast_from, 13);
  $('range-help').textContent = 'Any dates from ' + acc.forecast_from + ' to ' + acc.forecast_until_max + '.';
}

function drawChart(acc, fc) {
  const recentFrom = dayToSec(acc.recent.from);
  const nRecent = acc.recent.m3.length, n = fc.daily.length;
  const x = [], used = [], mean = [], lo80 = [], hi80 = [], lo95 = [], hi95 = [];
  for (let i = 0; i < nRecent; i++) {
    x.push(recentFrom + i * DAY); used.push(acc.recent.m3[i]);
    mean.push(null); lo80.push(null); hi80.push(null); lo95.push(null); hi95.push(null);
  }
  // The forecast starts the day after the recent window; a custom range may start later (gap of nulls).
  const gapFrom = dayToSec(acc.forecast_from), f0 = dayToSec(fc.from);
  for (let t = gapFrom; t < f0; t += DAY) { x.push(t); for (const a of [used, mean, lo80, hi80, lo95, hi95]) a.push(null); }
  for (const d of fc.daily) {
    x.push(dayToSec(d.date)); used.push(null);
    mean.push(d.mean); lo80.push(d.lo80); hi80.push(d.hi80); lo95.push(d.lo95); hi95.push(d.hi95);
  }
  const el = $('chart');
  const width = Math.max(280, el.clientWidth || 600);
  const opts = {
    width, height: width < 500 ? 260 : 320,
    scales: { x: { time: true } },
    axes: [{}, { label: 'm³ per day', size: 60 }],
    series: [
      {},
      { label: 'Recent use', stroke: '#1a1a1a', width: 2, spanGaps: false },
      { label: 'Expected', stroke: '#0b4f8a', width: 2, dash: [6, 4] },
      { label: 'Low (80%)', stroke: 'rgba(11,79,138,0.5)', width: 1 },
      { label: 'High (80%)', stroke: 'rgba(11,79,138,0.5)', width: 1 },
      { label: 'Low (95%)', stroke: 'rgba(11,79,138,0.25)', width: 1 },
      { label: 'High (95%)', stroke: 'rgba(11,79,138,0.25)', width: 1 },
    ],
    bands: [
      { series: [6, 5], fill: 'rgba(11,79,138,0.12)' },
      { series: [4, 3], fill: 'rgba(11,79,138,0.28)' },
    ],
  };
  if (chart) chart.destroy();
  el.replaceChildren();
  chart = new uPlot(opts, [x, used, mean, lo80, hi80, lo95, hi95], el);
  $('chart-caption').textContent = 'Daily water use: the last ' + nRecent + ' days measured, then the forecast from ' +
    fc.from + ' to ' + fc.to + ' with its likely (80%) and wide (95%) ranges shaded.';
}

function fillTable(fc) {
  const rows = fc.daily.map((d) => {
    const tr = document.createElement('tr');
    for (const v of [d.date, d.mean.toFixed(3), d.lo80.toFixed(3) + '–' + d.hi80.toFixed(3),
      d.lo95.toFixed(3) + '–' + d.hi95.toFixed(3)]) {
      const td = document.createElement('td'); td.textContent = v; tr.appendChild(td);
    }
    return tr;
  });
  $('days').tBodies[0].replaceChildren(...rows);
}

function render(acc, fc, bill) {
  $('result').hidden = false;
  $('result-title').textContent = 'Forecast for account ' + acc.account + ', ' + fc.from + ' to ' + fc.to +
    ' (' + fc.days + (fc.days === 1 ? ' day)' : ' days)');
  const t = fc.total_m3;
  $('total').textContent = m3(t.mean);
  $('total').dataset.m3 = String(t.mean);
  $('total-range').textContent = 'Likely between ' + m3(t.lo80) + ' and ' + m3(t.hi80) +
    ' (80%); almost surely between ' + m3(t.lo95) + ' and ' + m3(t.hi95) + ' (95%).';
  if (bill) {
    $('bill').textContent = money(bill.currency, bill.bill.mean);
    $('bill').dataset.amount = String(bill.bill.mean);
    $('bill-range').textContent = 'Likely between ' + money(bill.currency, bill.bill.lo80) + ' and ' +
      money(bill.currency, bill.bill.hi80) + '. Tariff: ' + bill.tariff + '.';
  } else {
    $('bill').textContent = '—';
    $('bill-range').textContent = 'No tariff is configured on this server.';
  }
  const n = $('notice');
  n.hidden = !acc.anomaly;
  n.textContent = acc.anomaly ? acc.anomaly.notice : '';
  $('model-note').textContent = 'Model ' + acc.model.spec + ' trained on readings up to ' + acc.model.trained_until +
    ' (version ' + acc.model_version + ').';
  drawChart(acc, fc);
  fillTable(fc);
}

async function show(ev) {
  if (ev) ev.preventDefault();
  const oid = $('account').value.trim();
  if (!/^[1-9][0-9]{0,17}$/.test(oid)) { showError('Please type your account number (digits only).'); $('account').focus(); return; }
  showError('');
  $('status').textContent = 'Loading the forecast…';
  try {
    const acc = await getJSON('/api/accounts/' + oid);
    rangeLimits(acc);
    const p = periodOf(acc);
    if (!p) throw new Error('no billing cycle is configured on this server');
    const q = 'account=' + oid + '&from=' + encodeURIComponent(p.from) + '&to=' + encodeURIComponent(p.to);
    const fc = await getJSON('/api/forecast?' + q);
    let bill = null;
    try { bill = await getJSON('/api/bill?' + q); } catch (e) { if (e.status !== 404) throw e; }
    last = { acc, fc };
    render(acc, fc, bill);
    $('status').textContent = 'Forecast shown for account ' + oid + '.';
    $('result').focus();
  } catch (e) {
    $('status').textContent = '';
    showError(e.status === 404 ? 'We do not know account ' + oid + '. Check the number on your bill.' : 'Sorry: ' + e.message);
    $('account').focus();
  }
}

function init() {
  $('pick').addEventListener('submit', show);
  $('account').addEventListener('input', suggest);
  for (const r of document.querySelectorAll('input[name=period]')) {
    r.addEventListener('change', () => {
      $('range').hidden = r.value !== 'range' || !r.checked;
      if (last && r.checked && r.value !== 'range') show();
    });
  }
  window.addEventListener('resize', () => { if (last) drawChart(last.acc, last.fc); });
  const q = new URLSearchParams(location.search).get('account');
  if (q) { $('account').value = q; show(); }
}
init();
