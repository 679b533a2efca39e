// The dashboard's entry point: signs in (or finds the session), then keeps
// every report in step with the view in the URL. Each change of the view
// reloads the reports; answers to an older view are dropped. A site without
// any event yet gets the first-run panel instead (first-run.js), until its
// first event arrives. The realtime period shows the realtime view
// (realtime.js) in place of the reports.

import * as api from './api.js';
import * as chart from './chart.js';
import * as breakdowns from './breakdowns.js';
import * as filters from './filters.js';
import * as firstRun from './first-run.js';
import * as format from './format.js';
import * as goals from './goals.js';
import * as periods from './periods.js';
import * as props from './props.js';
import * as realtime from './realtime.js';
import * as shortcuts from './shortcuts.js';
import * as imports from './imports.js';
import * as view from './view.js';

const $ = (id) => document.getElementById(id);
const REALTIME_MS = 30000;

const HEADLINE = [
  ['visitors', 'Unique visitors', format.count],
  ['visits', 'Visits', format.count],
  ['pageviews', 'Pageviews', format.count],
  ['views_per_visit', 'Views per visit', format.decimal],
  ['bounce_rate', 'Bounce rate', format.percent],
  ['visit_duration', 'Visit duration', format.duration],
];
/**
 * The headline's metrics for the current filters: like Plausible, the Stats
 * API answers views per visit only without a page filter.
 */
function headlineMetrics() {
  return HEADLINE.filter(([m]) => m !== 'views_per_visit' || !view.filtersOn(app.view, 'page'));
}
/** The engaged-time card, after the headline's own (its query differs). */
const ENGAGED = ['time_on_page', 'Engaged time', format.duration];
/** Metrics where going down is the good direction. */
const LOWER_IS_BETTER = new Set(['bounce_rate']);
const EXPORT_METRICS = ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'];

const app = {
  sites: [],
  /** Each readable site's time zone, by domain. */
  zones: new Map(),
  view: view.read(location.search),
  generation: 0,
  panels: [],
  stopRealtime: () => {},
  /** Sites known to have events: no need to ask again this session. */
  live: new Set(),
};

function setState(state) {
  document.body.dataset.state = state;
}

function status(text) {
  $('status').textContent = text;
}

// ---- signing in and out ----

function showLogin(message = '') {
  app.stopRealtime();
  realtime.stop();
  firstRun.stop();
  $('dashboard').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('token').value = '';
  $('token').focus();
  setState('login');
}

async function onLogin(event) {
  event.preventDefault();
  const token = $('token').value.trim();
  if (!token) {
    $('login-error').textContent = 'Enter your editor token.';
    return;
  }
  $('login-error').textContent = '';
  try {
    await api.login(token);
    await start();
  } catch (e) {
    showLogin(e.status === 401 ? 'That token was not accepted.' : e.message);
  }
}

async function onLogout() {
  try {
    await api.logout();
  } finally {
    showLogin('You are signed out.');
  }
}

/** When any call finds the session gone, back to the form. */
function failed(e) {
  if (e.status === 401) {
    showLogin('Your session has ended; sign in again.');
  } else {
    status(e.message);
    setState('error');
  }
}

// ---- the view ----

function commit(changes, { replace = false } = {}) {
  app.view = { ...app.view, ...changes };
  const url = view.write(app.view);
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  syncControls();
  load();
}

function syncControls() {
  const v = app.view;
  $('site').value = v.site;
  $('period').value = v.period;
  $('custom-range').hidden = v.period !== 'custom';
  $('from').value = v.from;
  $('to').value = v.to;
  $('compare').value = v.compare;
  // Realtime has no comparison and no filters: its numbers are the site's.
  $('compare').disabled = v.period === 'realtime';
  $('imports').checked = v.imports;
  $('legend-previous').hidden = !v.compare;
  $('legend-previous').textContent = v.compare === 'year_over_year' ? 'Visitors, a year before' : 'Visitors, previous period';
  document.body.dataset.period = v.period;
  filters.renderChips(v.filters, (filter) => {
    commit({ filters: view.without(app.view.filters, filter) });
    $('main').focus();
  });
}

/** The site's current day, by the server's clock. */
function today() {
  return periods.today(app.zones.get(app.view.site) || 'UTC');
}

function base() {
  return {
    site_id: app.view.site,
    date_range: periods.dateRange(app.view, today()),
    filters: view.apiFilters(app.view),
    include: imports.include(app.view),
  };
}

// ---- loading the reports ----

async function load() {
  const generation = ++app.generation;
  const current = () => generation === app.generation;
  firstRun.stop();
  realtime.stop();
  setState('loading');
  status('Loading…');
  try {
    const site = app.view.site;
    if (!app.live.has(site)) {
      const setup = await api.setup(site);
      if (!current()) return;
      if (!setup.has_events) {
        waitForFirstEvent(setup);
        return;
      }
      app.live.add(site);
    }
    firstRun.hide();
    if (app.view.period === 'realtime') {
      showRealtime(current);
      return;
    }
    $('realtime-view').hidden = true;
    $('reports').hidden = false;
    const comparisons = app.view.compare ? { comparisons: { mode: app.view.compare } } : {};
    const headline = await api.query({ ...base(), metrics: headlineMetrics().map(([m]) => m), include: { ...base().include, ...comparisons } });
    if (!current()) return;
    imports.reflect($('imports-toggle'), app.view, headline.meta);
    const range = headline.query.date_range;
    app.lastRange = [range[0].slice(0, 10), range[1].slice(0, 10)];
    const compared = headline.query.comparison_date_range;
    const previous = compared ? [compared[0].slice(0, 10), compared[1].slice(0, 10)] : null;
    await Promise.all([
      loadHeadline(headline, previous, current),
      loadChart(range, previous, current),
      ...app.panels.map((p) => loadPanel(p, current)),
      app.goals.load(base(), current),
      app.props.load(base(), app.lastRange, current),
    ]);
    if (!current()) return;
    status(describe(range, previous));
    setState('ready');
  } catch (e) {
    if (current()) failed(e);
  }
}

/**
 * The realtime view in place of the reports, refreshing itself; `ready`
 * once its first answer is shown.
 */
function showRealtime(current) {
  $('reports').hidden = true;
  $('realtime-view').hidden = false;
  realtime.start($('realtime-view'), app.view.site, {
    answer: (a) => {
      $('realtime').textContent = typeof a.current_visitors === 'number' ? format.count(a.current_visitors) : a.current_visitors;
      // The first answer, or the first after a failed refresh.
      if (current() && document.body.dataset.state !== 'ready') {
        status(`The last ${a.window_minutes} minutes, refreshed every ${realtime.REFRESH_MS / 1000} s`);
        setState('ready');
      }
    },
    failed: (e) => {
      if (current()) failed(e);
    },
  });
}

/** The snippet and the waiting status, until the site's first event. */
function waitForFirstEvent(setup) {
  const site = setup.site_id;
  $('announce').textContent = '';
  $('realtime-view').hidden = true;
  firstRun.show(setup);
  status('');
  setState('waiting');
  firstRun.wait(site, {
    arrived: () => {
      app.live.add(site);
      $('announce').textContent = `The first pageview of ${site} has arrived: showing the reports.`;
      load();
      refreshRealtime();
    },
    failed,
  });
}

function describe(range, previous) {
  const span = `${range[0].slice(0, 10)} to ${range[1].slice(0, 10)}`;
  return previous ? `${span}, compared with ${previous[0]} to ${previous[1]}` : span;
}

/**
 * Average engaged time per page viewed in a visit, in seconds, or `null`
 * when no page reported engagement (and the compared range's, with a
 * comparison). The Stats API answers `time_on_page`
 * only for pages: without a page filter the view's filters gain one that
 * every page passes (every path starts with `/`).
 */
async function engagedTime() {
  const filters = base().filters;
  if (!view.filtersOn(app.view, 'page')) filters.push(['contains', 'event:page', ['/']]);
  const include = app.view.compare ? { comparisons: { mode: app.view.compare } } : {};
  const answer = await api.query({ ...base(), filters, metrics: ['time_on_page'], include });
  const row = answer.results[0];
  // Without a threshold, nothing compared means no engagement then: 0.
  const none = answer.meta.min_visitors ? null : 0;
  return { now: row?.metrics[0] ?? null, before: row?.comparison?.metrics[0] ?? none };
}

async function loadHeadline(answer, previous, current) {
  const shown = [...headlineMetrics(), ENGAGED];
  const own = shown.length - 1;
  const engaged = await engagedTime();
  const now = [...(answer.results[0]?.metrics ?? Array(own).fill(0)), engaged.now];
  // The API's own comparison (`include.comparisons`) of the same query.
  const before = previous
    ? [...(answer.results[0]?.comparison?.metrics ?? Array(own).fill(0)), engaged.before]
    : null;
  if (!current()) return;
  const k = answer.meta.min_visitors;
  const items = shown.map(([metric, label, show], i) => {
    const wrap = document.createElement('div');
    wrap.className = 'stat';
    wrap.dataset.metric = metric;
    const dt = document.createElement('dt');
    dt.textContent = label;
    const dd = document.createElement('dd');
    const value = document.createElement('span');
    value.className = 'value';
    if (now[i] === null && metric === 'time_on_page' && !k) {
      value.textContent = '–';
    } else if (now[i] === null) {
      value.textContent = format.fewer(k);
      value.title = format.fewerTitle(k);
    } else {
      value.textContent = show(now[i]);
    }
    dd.append(value);
    if (before && now[i] !== null && before[i] !== null) dd.append(' ', changeBadge(metric, now[i], before[i], show));
    wrap.append(dt, dd);
    return wrap;
  });
  $('headline').replaceChildren(...items);
}

function changeBadge(metric, now, before, show) {
  const badge = document.createElement('span');
  badge.className = 'change';
  const delta = format.change(now, before, metric === 'bounce_rate');
  if (!delta || delta.value === 0) {
    badge.textContent = delta ? '±0' : 'new';
    badge.classList.add('flat');
  } else {
    const better = (delta.value > 0) !== LOWER_IS_BETTER.has(metric);
    badge.classList.add(better ? 'good' : 'bad');
    badge.textContent = `${delta.value > 0 ? '↑' : '↓'} ${delta.text}`;
  }
  badge.title = `Previous period: ${show(before)}`;
  return badge;
}

async function series(dateRange, dimensionName, metrics) {
  const answer = await api.query({
    ...base(),
    date_range: dateRange,
    metrics,
    dimensions: [dimensionName],
    include: { ...base().include, time_labels: true },
    pagination: { limit: 10000 },
  });
  const byLabel = new Map(answer.results.map((r) => [r.dimensions[0], r.metrics]));
  const labels = answer.meta.time_labels;
  // A bucket without a row had nothing; one answered `null` is hidden by
  // the site's threshold (fewer than `meta.min_visitors`) and stays null.
  const value = (l, i) => (byLabel.has(l) ? byLabel.get(l)[i] : 0);
  return { labels, min: answer.meta.min_visitors, values: metrics.map((_, i) => labels.map((l) => value(l, i))) };
}

async function loadChart(range, previous, current) {
  const dim = periods.grain(range);
  const [now, before] = await Promise.all([
    series(base().date_range, dim, ['visitors', 'pageviews']),
    previous ? series(previous, dim, ['visitors']) : null,
  ]);
  if (!current()) return;
  const lines = [
    { name: 'Visitors', className: 'visitors', values: now.values[0] },
    { name: 'Pageviews', className: 'pageviews', values: now.values[1] },
  ];
  if (before) {
    const values = now.labels.map((_, i) => (i < before.values[0].length ? before.values[0][i] : 0));
    lines.push({ name: $('legend-previous').textContent, className: 'previous', values });
  }
  app.chart = { labels: now.labels, lines, grain: dim };
  chart.draw($('chart'), now.labels, lines, dim);
  chart.table($('chart-table'), now.labels, lines, now.min);
}

function panelQuery(panel, limit) {
  return {
    ...base(),
    metrics: panel.metrics,
    dimensions: [panel.dimension.api],
    order_by: [['visitors', 'desc']],
    pagination: { limit },
  };
}

async function loadPanel(panel, current) {
  const answer = await api.query(panelQuery(panel, breakdowns.ROWS));
  if (current()) panel.render(answer.results, answer.meta.min_visitors);
}

async function reloadPanel(panel) {
  const generation = app.generation;
  try {
    await loadPanel(panel, () => generation === app.generation);
  } catch (e) {
    failed(e);
  }
}

async function exportCsv(panel) {
  try {
    // Like Plausible, the API counts pageviews by event, not by entry or exit page.
    const session = ['visit:entry_page', 'visit:exit_page'].includes(panel.dimension.api);
    const metrics = EXPORT_METRICS.filter((m) => !(session && m === 'pageviews'));
    const body = { ...panelQuery(panel, 10000), metrics };
    const blob = await api.queryCsv(body);
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `${app.view.site}-${panel.dimension.key}-${new Date().toISOString().slice(0, 10)}.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  } catch (e) {
    failed(e);
  }
}

// ---- realtime ----

async function refreshRealtime() {
  const site = app.view.site;
  try {
    // A string ("<K") when the site's threshold hides the count.
    const n = await api.realtime(site);
    if (site === app.view.site) $('realtime').textContent = typeof n === 'number' ? format.count(n) : n;
  } catch (e) {
    if (e.status === 401) failed(e);
  }
}

/** The top bar's current visitors, every REALTIME_MS while the tab shows. */
function startRealtime() {
  app.stopRealtime();
  $('realtime').textContent = '–';
  app.stopRealtime = realtime.poll(refreshRealtime, REALTIME_MS);
}

// ---- start-up ----

function buildPanels() {
  if (app.panels.length) return;
  app.panels = breakdowns.PANELS.map((p) => breakdowns.create(p, {
    tab: reloadPanel,
    filter: (key, value) => commit({ filters: view.withIs(app.view.filters, key, value) }),
    exportCsv: () => exportCsv(app.panels.find((x) => x.element.dataset.panel === p.id)),
  }));
  const filterBy = (key, value) => commit({ filters: view.withIs(app.view.filters, key, value) });
  app.goals = goals.create({ filter: (goal) => filterBy('goal', goal) });
  app.props = props.create({
    filter: (name, value) => filterBy(view.propKey(name), value),
    goal: goalFilter,
    failed,
  });
  $('panels').replaceChildren(...app.panels.map((p) => p.element), app.goals.element, app.props.element);
}

/** The one goal the view is filtered by (`goal is X`), if so. */
function goalFilter() {
  const f = app.view.filters.find((x) => x.key === 'goal' && x.op === 'is');
  return f && f.values.length === 1 ? f.values[0] : null;
}

async function start() {
  let me;
  try {
    me = await api.sites();
  } catch (e) {
    if (e.status === 401) {
      showLogin();
    } else {
      showLogin(e.message);
    }
    return;
  }
  app.sites = me.sites.map((s) => s.domain);
  app.zones = new Map(me.sites.map((s) => [s.domain, s.timezone]));
  periods.setClock(me.now);
  $('editor-name').textContent = me.editor;
  $('site').replaceChildren(...app.sites.map((d) => new Option(d, d)));
  $('login').hidden = true;
  $('dashboard').hidden = false;
  if (!app.sites.length) {
    status('Your token may not read any site.');
    setState('ready');
    return;
  }
  buildPanels();
  const site = app.sites.includes(app.view.site) ? app.view.site : app.sites[0];
  commit({ site }, { replace: true });
  startRealtime();
}

/** Picks a period, as the picker and the shortcuts do. */
function choosePeriod(value) {
  const changes = { period: value };
  if (value === 'custom' && !(app.view.from && app.view.to)) {
    const range = app.lastRange;
    changes.from = range?.[0] ?? '';
    changes.to = range?.[1] ?? '';
  }
  commit(changes);
}

/** Top values of a dimension in the current view, for the filter form. */
async function suggestions(key) {
  const answer = await api.query({
    ...base(),
    metrics: ['visitors'],
    dimensions: [view.dimension(key).api],
    order_by: [['visitors', 'desc']],
    pagination: { limit: 25 },
  });
  return answer.results.map((r) => r.dimensions[0]);
}

function wire() {
  $('period').replaceChildren(...periods.PERIODS.map((p) => new Option(p.label, p.value)));
  $('compare').replaceChildren(...view.COMPARISONS.map(([value, label]) => new Option(label, value)));
  const filterUi = filters.create({
    add: (filter) => commit({ filters: view.adding(app.view.filters, filter) }),
    suggest: suggestions,
  });
  $('filters').after(filterUi.button);
  document.body.append(filterUi.dialog);
  const help = shortcuts.install({
    enabled: () => !$('dashboard').hidden && app.sites.length > 0,
    period: choosePeriod,
    toggleCompare: () => {
      if (app.view.period !== 'realtime') commit({ compare: app.view.compare ? '' : 'previous_period' });
    },
  });
  $('show-shortcuts').addEventListener('click', () => help.showModal());
  $('login-form').addEventListener('submit', onLogin);
  $('logout').addEventListener('click', onLogout);
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  $('site').addEventListener('change', (e) => {
    commit({ site: e.target.value, filters: [] });
    startRealtime();
  });
  $('period').addEventListener('change', (e) => choosePeriod(e.target.value));
  for (const id of ['from', 'to']) {
    $(id).addEventListener('change', () => {
      const from = $('from').value;
      const to = $('to').value;
      if (from && to && from <= to) commit({ from, to });
    });
  }
  $('compare').addEventListener('change', (e) => commit({ compare: e.target.value }));
  $('imports').addEventListener('change', (e) => commit({ imports: e.target.checked }));
  window.addEventListener('popstate', () => {
    app.view = view.read(location.search);
    syncControls();
    load();
  });
  let resizeTimer = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (app.chart) chart.draw($('chart'), app.chart.labels, app.chart.lines, app.chart.grain);
      realtime.resize();
    }, 150);
  });
}

wire();
start();
