// What the editor is looking at (site, period, comparison, filters), kept in
// the page's query string so a view can be reloaded, bookmarked and shared.

/** Filterable dimensions: the short name used in the URL, the API's name, a label. */
export const DIMENSIONS = [
  ['page', 'event:page', 'Page'],
  ['entry_page', 'visit:entry_page', 'Entry page'],
  ['exit_page', 'visit:exit_page', 'Exit page'],
  ['source', 'visit:source', 'Source'],
  ['referrer', 'visit:referrer', 'Referrer'],
  ['utm_medium', 'visit:utm_medium', 'UTM medium'],
  ['utm_source', 'visit:utm_source', 'UTM source'],
  ['utm_campaign', 'visit:utm_campaign', 'UTM campaign'],
  ['country', 'visit:country', 'Country'],
  ['region', 'visit:region', 'Region'],
  ['city', 'visit:city', 'City'],
  ['device', 'visit:device', 'Device'],
  ['browser', 'visit:browser', 'Browser'],
  ['os', 'visit:os', 'Operating system'],
].map(([key, api, label]) => ({ key, api, label }));

export const PERIODS = ['day', '7d', '30d', 'month', '12mo', 'custom'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function dimension(key) {
  return DIMENSIONS.find((d) => d.key === key);
}

/** The view in a query string; unknown or malformed parts fall back to defaults. */
export function read(search) {
  const params = new URLSearchParams(search);
  const period = PERIODS.includes(params.get('period')) ? params.get('period') : '30d';
  const from = params.get('from') || '';
  const to = params.get('to') || '';
  const view = {
    site: params.get('site') || '',
    period,
    from: DATE.test(from) ? from : '',
    to: DATE.test(to) ? to : '',
    compare: params.get('compare') === '1',
    filters: {},
  };
  for (const d of DIMENSIONS) {
    if (params.has(d.key)) view.filters[d.key] = params.get(d.key);
  }
  return view;
}

/** The query string of a view, in a stable order. */
export function write(view) {
  const params = new URLSearchParams();
  if (view.site) params.set('site', view.site);
  params.set('period', view.period);
  if (view.period === 'custom') {
    params.set('from', view.from);
    params.set('to', view.to);
  }
  if (view.compare) params.set('compare', '1');
  for (const d of DIMENSIONS) {
    if (d.key in view.filters) params.set(d.key, view.filters[d.key]);
  }
  return `?${params}`;
}

/** The Stats API `date_range` of a view. */
export function dateRange(view) {
  if (view.period === 'custom' && view.from && view.to && view.from <= view.to) {
    return [view.from, view.to];
  }
  return view.period === 'custom' ? '30d' : view.period;
}

/** The Stats API `filters` of a view: every chip must hold. */
export function apiFilters(view) {
  return Object.entries(view.filters).map(([key, value]) => ['is', dimension(key).api, [value]]);
}

/**
 * The period just before a resolved range of whole days, as long as it:
 * `range` is the `[first, last]` pair of RFC 3339 times the API echoes.
 */
export function previousRange(range) {
  const first = day(range[0].slice(0, 10));
  const last = day(range[1].slice(0, 10));
  const days = Math.round((last - first) / 86400000) + 1;
  const before = new Date(first.getTime() - 86400000);
  const start = new Date(first.getTime() - days * 86400000);
  return [iso(start), iso(before)];
}

function day(text) {
  return new Date(`${text}T00:00:00Z`);
}

function iso(date) {
  return date.toISOString().slice(0, 10);
}
