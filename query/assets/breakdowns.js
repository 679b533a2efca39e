// The breakdown panels: each groups a few related dimensions behind tabs
// and lists the top values by visitors. A row is a button that filters the
// whole dashboard by its value; each panel exports its current list as CSV.
// Top pages also have a details view, as in Plausible, that adds how each
// page is read: time on page, scroll depth and exit rate.

import { count, country, duration, fewer, fewerTitle, percent } from './format.js';
import { dimension } from './view.js';

/** The details view's metrics of a tab: `[metric, column title, format]`. */
const PAGE_DETAILS = [
  ['time_on_page', 'Time on page', duration],
  ['scroll_depth', 'Scroll depth', percent],
  ['exit_rate', 'Exit rate', percent],
];

export const PANELS = [
  {
    id: 'pages',
    title: 'Pages',
    tabs: [['page', 'Top pages'], ['entry_page', 'Entry pages'], ['exit_page', 'Exit pages']],
    details: { page: PAGE_DETAILS },
  },
  {
    id: 'sources',
    title: 'Sources',
    tabs: [['source', 'Sources'], ['referrer', 'Referrers'], ['utm_medium', 'UTM medium'], ['utm_source', 'UTM source'], ['utm_campaign', 'UTM campaign']],
  },
  { id: 'locations', title: 'Locations', tabs: [['country', 'Countries'], ['region', 'Regions'], ['city', 'Cities']] },
  { id: 'devices', title: 'Devices', tabs: [['device', 'Devices'], ['browser', 'Browsers'], ['os', 'OS']] },
];

/** The row the API merges values under the site's threshold into. */
const OTHER = '(other)';

/** Rows a panel shows; the CSV export has them all. */
export const ROWS = 10;

/** How a stored value reads in a list or a chip. */
export function display(key, value) {
  if (value === '') return '(not set)';
  return key === 'country' ? country(value) : value;
}

/**
 * Whether the Stats API filters by this value: like Plausible's, it takes
 * countries only as two-letter codes (not the unknown country).
 */
function filterable(key, value) {
  return key !== 'country' || [...value].length === 2;
}

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

/** A metric without a value (no page reported engagement) reads as a dash. */
function shown(format, value) {
  return value === null || value === undefined ? '–' : format(value);
}

/**
 * One panel's elements. `actions` has `tab(panel)` (its tab or view
 * changed), `filter(key, value)` and `exportCsv(key)`.
 */
export function create(panel, actions) {
  const state = { tab: panel.tabs[0][0], details: false };
  /** The details view's extra columns for the current tab, if it is on. */
  const extra = () => (state.details ? panel.details?.[state.tab] ?? [] : []);
  const titleId = `panel-${panel.id}-title`;
  const tabs = panel.tabs.map(([key, label]) => {
    const b = node('button', { type: 'button', className: 'tab', textContent: label });
    b.dataset.tab = key;
    b.addEventListener('click', () => {
      state.tab = key;
      markTab();
      actions.tab(api);
    });
    return b;
  });
  const body = node('tbody');
  const heading = node('th', { scope: 'col' });
  const headRow = node('tr', {}, [heading, node('th', { scope: 'col', className: 'num', textContent: 'Visitors' })]);
  const exportButton = node('button', { type: 'button', className: 'export', textContent: 'Export CSV' });
  exportButton.addEventListener('click', () => actions.exportCsv(state.tab));
  const detailsButton = node('button', { type: 'button', className: 'details', textContent: 'Details' });
  detailsButton.addEventListener('click', () => {
    state.details = !state.details;
    markTab();
    actions.tab(api);
  });
  const section = node('section', { className: 'card panel', id: `panel-${panel.id}` }, [
    node('div', { className: 'card-head' }, [
      node('h2', { id: titleId, textContent: panel.title }),
      node('div', { className: 'tabs' }, tabs),
    ]),
    node('table', { className: 'rows' }, [node('thead', {}, [headRow]), body]),
    node('div', { className: 'panel-foot' }, [detailsButton, exportButton]),
  ]);
  section.setAttribute('aria-labelledby', titleId);
  section.dataset.panel = panel.id;
  tabs.forEach((b) => b.setAttribute('aria-controls', section.id));

  function markTab() {
    for (const b of tabs) b.setAttribute('aria-pressed', String(b.dataset.tab === state.tab));
    heading.textContent = dimension(state.tab).label;
    section.dataset.tab = state.tab;
    detailsButton.hidden = !panel.details?.[state.tab];
    detailsButton.setAttribute('aria-pressed', String(state.details));
    const titles = extra().map(([, title]) => node('th', { scope: 'col', className: 'num', textContent: title }));
    headRow.replaceChildren(headRow.children[0], headRow.children[1], ...titles);
  }

  /** `min`: the site's threshold (`meta.min_visitors`), if it has one. */
  function render(results, min) {
    const max = Math.max(1, ...results.map((r) => r.metrics[0] ?? 0));
    const rows = results.map((r) => {
      const value = r.dimensions[0];
      const text = display(state.tab, value);
      // The `(other)` row merges the values under the threshold: no one
      // value to filter by.
      const other = min !== undefined && value === OTHER;
      let label;
      if (!other && filterable(state.tab, value)) {
        label = node('button', { type: 'button', className: 'row-filter', textContent: text, title: `Filter by ${text}` });
        label.dataset.value = value;
        label.addEventListener('click', () => actions.filter(state.tab, value));
      } else {
        label = node('span', { textContent: text });
      }
      const cell = node('td', { className: 'label' }, [label]);
      const n = r.metrics[0];
      cell.style.setProperty('--share', `${((n ?? 0) / max) * 100}%`);
      const num = node('td', { className: 'num', textContent: n === null ? fewer(min) : count(n) });
      if (n === null) num.title = fewerTitle(min);
      if (other) label.title = `Values with fewer than ${count(min)} visitors each, together`;
      const details = extra().map(([, , format], i) => node('td', { className: 'num', textContent: shown(format, r.metrics[i + 1]) }));
      return node('tr', {}, [cell, num, ...details]);
    });
    if (!rows.length) {
      const colSpan = 2 + extra().length;
      rows.push(node('tr', {}, [node('td', { className: 'empty', colSpan, textContent: 'Nothing in this period.' })]));
    }
    body.replaceChildren(...rows);
  }

  markTab();
  const api = {
    element: section,
    get dimension() {
      return dimension(state.tab);
    },
    /** What the panel's query asks for: visitors, then any details. */
    get metrics() {
      return ['visitors', ...extra().map(([metric]) => metric)];
    },
    render,
  };
  return api;
}
