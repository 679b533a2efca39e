// The realtime view (Plausible's "last 30 minutes"): current visitors, a
// per-minute chart and the top pages and sources of the window, from one
// request to `api/dashboard/realtime`, asked again every REFRESH_MS without
// reloading the page. Nothing is asked while the tab is hidden; on coming
// back the view is brought up to date at once.
//
// `poll` is the visibility-aware timer the rest of the page uses too.

import * as api from './api.js';
import { count } from './format.js';

// Under the site's threshold a count of fewer than K visitors comes as the
// string "<K": shown as it is, and drawn as nothing.
const shown = (n) => (typeof n === 'number' ? count(n) : n);
const num = (n) => (typeof n === 'number' ? n : 0);

const SVG = 'http://www.w3.org/2000/svg';
/** How often the realtime view asks; each time is three small queries. */
export const REFRESH_MS = 5000;

/**
 * Calls `fn` now and then `ms` after each call has finished, but never
 * while the page is hidden: the timer stops on `visibilitychange` to
 * hidden and `fn` runs at once when it is shown again. `onState('live' |
 * 'paused')` hears the changes. Returns the function that stops it all.
 */
export function poll(fn, ms, onState = () => {}) {
  let timer = 0;
  let stopped = false;
  const run = async () => {
    clearTimeout(timer);
    timer = 0;
    if (stopped || document.hidden) return;
    await fn();
    if (!stopped && !document.hidden) timer = setTimeout(run, ms);
  };
  const visibility = () => {
    if (document.hidden) {
      clearTimeout(timer);
      timer = 0;
      onState('paused');
    } else {
      onState('live');
      run();
    }
  };
  document.addEventListener('visibilitychange', visibility);
  onState(document.hidden ? 'paused' : 'live');
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
    document.removeEventListener('visibilitychange', visibility);
  };
}

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

function svg(name, attrs = {}, text) {
  const n = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function stat(id, label) {
  const value = node('span', { className: 'value', id, textContent: '–' });
  const wrap = node('div', { className: 'stat' }, [node('dt', { textContent: label }), node('dd', {}, [value])]);
  wrap.dataset.metric = id;
  return wrap;
}

function list(id, title, column) {
  const body = node('tbody');
  const section = node('section', { className: 'card panel', id }, [
    node('div', { className: 'card-head' }, [node('h2', { textContent: title })]),
    node('table', { className: 'rows' }, [
      node('thead', {}, [node('tr', {}, [
        node('th', { scope: 'col', textContent: column }),
        node('th', { scope: 'col', className: 'num', textContent: 'Visitors' }),
      ])]),
      body,
    ]),
  ]);
  return { section, body };
}

/** The view's elements, built once into `#realtime-view`. */
function build(container) {
  const pages = list('rt-pages', 'Top pages, last 30 minutes', 'Page');
  const sources = list('rt-sources', 'Top sources, last 30 minutes', 'Source');
  const chart = node('div', { id: 'rt-chart', className: 'chart rt-chart' });
  const table = node('div', { id: 'rt-chart-table' });
  container.replaceChildren(
    node('h2', { id: 'rt-title', className: 'visually-hidden', textContent: 'Realtime: the last 30 minutes' }),
    node('dl', { className: 'headline' }, [
      stat('rt-current', 'Current visitors'),
      stat('rt-visitors', 'Unique visitors (last 30 min)'),
      stat('rt-pageviews', 'Pageviews (last 30 min)'),
    ]),
    node('section', { className: 'card chart-card' }, [
      node('div', { className: 'card-head' }, [
        node('h2', { textContent: 'Visitors per minute' }),
        node('p', { className: 'status', id: 'rt-updated' }),
      ]),
      chart,
      node('details', { className: 'chart-table' }, [node('summary', { textContent: 'Show the chart as a table' }), table]),
    ]),
    node('div', { className: 'panels' }, [pages.section, sources.section]),
  );
  container.setAttribute('aria-labelledby', 'rt-title');
  return { chart, table, pages: pages.body, sources: sources.body };
}

function rows(body, items, key) {
  const max = Math.max(1, ...items.map((i) => i.visitors));
  const trs = items.map((item) => {
    const cell = node('td', { className: 'label' }, [node('span', { className: 'rt-label', textContent: item[key] })]);
    cell.style.setProperty('--share', `${(item.visitors / max) * 100}%`);
    const tr = node('tr', {}, [cell, node('td', { className: 'num', textContent: count(item.visitors) })]);
    tr.dataset.value = item[key];
    return tr;
  });
  if (!trs.length) trs.push(node('tr', {}, [node('td', { className: 'empty', colSpan: 2, textContent: 'No one in the last 30 minutes.' })]));
  body.replaceChildren(...trs);
}

function minuteLabel(ago) {
  return ago === 0 ? 'this minute' : `${ago} min ago`;
}

/** Visitors per minute as bars, oldest on the left. */
function bars(container, minutes) {
  const width = Math.max(container.clientWidth, 280);
  const height = 160;
  const pad = { top: 10, bottom: 22, left: 8, right: 8 };
  const inner = { w: width - pad.left - pad.right, h: height - pad.top - pad.bottom };
  const max = Math.max(1, ...minutes.map((m) => num(m.visitors)));
  const step = inner.w / minutes.length;
  const total = minutes.reduce((n, m) => n + num(m.visitors), 0);
  const chart = svg('svg', {
    width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `Visitors per minute over the last ${minutes.length} minutes; ${count(total)} visitor-minutes in all.`,
  });
  minutes.forEach((m, i) => {
    const h = (num(m.visitors) / max) * inner.h;
    const bar = svg('rect', {
      class: 'bar', x: pad.left + i * step + 1, y: pad.top + inner.h - h,
      width: Math.max(1, step - 2), height: Math.max(h, num(m.visitors) ? 1 : 0),
    });
    bar.append(svg('title', {}, `${minuteLabel(m.minutes_ago)}: ${shown(m.visitors)} visitors, ${shown(m.pageviews)} pageviews`));
    chart.append(bar);
  });
  chart.append(
    svg('text', { class: 'axis', x: pad.left, y: height - 6, 'text-anchor': 'start' }, `${minutes.length} min ago`),
    svg('text', { class: 'axis', x: width - pad.right, y: height - 6, 'text-anchor': 'end' }, 'now'),
  );
  container.replaceChildren(chart);
}

function minutesTable(container, minutes) {
  const t = node('table');
  const head = t.createTHead().insertRow();
  for (const name of ['Minute', 'Visitors', 'Pageviews']) head.append(node('th', { scope: 'col', textContent: name }));
  const body = t.createTBody();
  for (const m of minutes) {
    const row = body.insertRow();
    row.insertCell().textContent = minuteLabel(m.minutes_ago);
    for (const v of [m.visitors, m.pageviews]) Object.assign(row.insertCell(), { className: 'num', textContent: shown(v) });
  }
  container.replaceChildren(t);
}

let view = null;
let stopPolling = () => {};
let last = null;

/**
 * Shows the realtime view of `site` in `container` and keeps it fresh.
 * `hooks.answer(a)` hears each answer (the page shows the current visitors
 * in its top bar too); `hooks.failed(e)` an error (a 401 ends the view).
 */
export function start(container, site, hooks) {
  stop();
  view = build(container);
  container.dataset.refreshes = '0';
  let mine = true;
  const refresh = async () => {
    try {
      const answer = await api.realtimeView(site);
      if (!mine) return;
      render(container, answer);
      hooks.answer(answer);
    } catch (e) {
      if (!mine) return;
      hooks.failed(e);
      if (e.status === 401) stop();
    }
  };
  const stopTimer = poll(refresh, REFRESH_MS, (state) => {
    container.dataset.polling = state;
  });
  stopPolling = () => {
    mine = false;
    stopTimer();
  };
}

export function stop() {
  stopPolling();
  stopPolling = () => {};
  last = null;
}

function render(container, answer) {
  last = answer;
  document.getElementById('rt-current').textContent = shown(answer.current_visitors);
  document.getElementById('rt-visitors').textContent = shown(answer.visitors);
  document.getElementById('rt-pageviews').textContent = shown(answer.pageviews);
  bars(view.chart, answer.minutes);
  minutesTable(view.table, answer.minutes);
  rows(view.pages, answer.pages, 'page');
  rows(view.sources, answer.sources, 'source');
  const time = answer.now.slice(11, 19);
  document.getElementById('rt-updated').textContent = `Updated at ${time} UTC`;
  container.dataset.refreshes = String(Number(container.dataset.refreshes) + 1);
}

/** Redraws the chart for a new width. */
export function resize() {
  if (view && last) bars(view.chart, last.minutes);
}
