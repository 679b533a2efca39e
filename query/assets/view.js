// What the editor is looking at (site, period, comparison, filters), kept in
// the page's query string so a view can be reloaded, bookmarked and shared.
//
// Filters are one query parameter per value, named by the dimension and,
// for operators other than `is`, prefixed with the operator:
// `source=Google&source=Bing` (source is Google or Bing),
// `not.page=%2Fadmin`, `contains.page=blog`, `not_contains.city=Ber`,
// `goal=Signup`, `prop.author=Ana`. The name then never needs escaping
// inside a value, and a plain `source=Google` link reads as before.

import { PERIODS } from './periods.js';

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
  ['goal', 'event:goal', 'Goal'],
].map(([key, api, label]) => ({ key, api, label }));

/** Custom properties: `prop.author` is `event:props:author`. */
const PROP = 'prop.';

/**
 * The filter operators, as the URL prefixes them, the API names them and
 * a chip reads them.
 */
export const OPERATORS = [
  { op: 'is', prefix: '', api: 'is', text: 'is' },
  { op: 'is_not', prefix: 'not.', api: 'is_not', text: 'is not' },
  { op: 'contains', prefix: 'contains.', api: 'contains', text: 'contains' },
  { op: 'contains_not', prefix: 'not_contains.', api: 'contains_not', text: 'does not contain' },
];

export const COMPARISONS = [
  ['', 'No comparison'],
  ['previous_period', 'Previous period'],
  ['year_over_year', 'Year over year'],
];

const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A dimension by its URL key, custom properties included; undefined if unknown. */
export function dimension(key) {
  if (key.startsWith(PROP) && key.length > PROP.length) {
    const name = key.slice(PROP.length);
    return { key, api: `event:props:${name}`, label: `Property ${name}`, prop: name };
  }
  return DIMENSIONS.find((d) => d.key === key);
}

/** The URL key of custom property `name`. */
export function propKey(name) {
  return PROP + name;
}

export function operator(op) {
  return OPERATORS.find((o) => o.op === op);
}

/** A URL parameter name as `[operator, dimension key]`, or null. */
function parseName(name) {
  for (const o of [...OPERATORS].reverse()) {
    if (o.prefix && name.startsWith(o.prefix)) {
      const key = name.slice(o.prefix.length);
      return dimension(key) ? [o.op, key] : null;
    }
  }
  return dimension(name) ? ['is', name] : null;
}

/** The view in a query string; unknown or malformed parts fall back to defaults. */
export function read(search) {
  const params = new URLSearchParams(search);
  const period = PERIODS.some((p) => p.value === params.get('period')) ? params.get('period') : '30d';
  const from = params.get('from') || '';
  const to = params.get('to') || '';
  // `compare=1` is how links made before the comparison choice said it.
  const compare = params.get('compare') === '1' ? 'previous_period' : params.get('compare') || '';
  const view = {
    site: params.get('site') || '',
    period,
    from: DATE.test(from) ? from : '',
    to: DATE.test(to) ? to : '',
    compare: COMPARISONS.some(([c]) => c === compare) ? compare : '',
    // Imported history is included unless turned off (imports.js).
    imports: params.get('imports') !== '0',
    filters: [],
  };
  for (const [name, value] of params) {
    const parsed = parseName(name);
    if (!parsed) continue;
    const [op, key] = parsed;
    const existing = view.filters.find((f) => f.op === op && f.key === key);
    if (existing) {
      if (!existing.values.includes(value)) existing.values.push(value);
    } else {
      view.filters.push({ key, op, values: [value] });
    }
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
  if (view.compare) params.set('compare', view.compare);
  if (!view.imports) params.set('imports', '0');
  for (const f of view.filters) {
    const name = operator(f.op).prefix + f.key;
    for (const value of f.values) params.append(name, value);
  }
  return `?${params}`;
}

/** The Stats API `filters` of a view: every filter must hold. */
export function apiFilters(view) {
  return view.filters.map((f) => [operator(f.op).api, dimension(f.key).api, f.values]);
}

/** Whether any filter of the view is on `key`. */
export function filtersOn(view, key) {
  return view.filters.some((f) => f.key === key);
}

/** The view's filters with `key is value` in place of any `is` filter on `key`. */
export function withIs(filters, key, value) {
  const others = filters.filter((f) => !(f.key === key && f.op === 'is'));
  return [...others, { key, op: 'is', values: [value] }];
}

/** The view's filters without `filter`. */
export function without(filters, filter) {
  return filters.filter((f) => f !== filter);
}

/** The view's filters with `filter` added, replacing one of the same key and operator. */
export function adding(filters, filter) {
  const others = filters.filter((f) => !(f.key === filter.key && f.op === filter.op));
  return [...others, filter];
}
