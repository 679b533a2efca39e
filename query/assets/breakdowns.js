// The breakdown panels: each groups a few related dimensions behind tabs
// and lists the top values by visitors. A row is a button that filters the
// whole dashboard by its value; each panel exports its current list as CSV.

import { count, country, fewer, fewerTitle } from './format.js';
import { dimension } from './view.js';

export const PANELS = [
  { id: 'pages', title: 'Pages', tabs: [['page', 'Top pages'], ['entry_page', 'Entry pages'], ['exit_page', 'Exit pages']] },
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

/**
 * One panel's elements. `actions` has `tab(panel)` (its tab changed),
 * `filter(key, value)` and `exportCsv(key)`.
 */
export function create(panel, actions) {
  const state = { tab: panel.tabs[0][0] };
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
  const exportButton = node('button', { type: 'button', className: 'export', textContent: 'Export CSV' });
  exportButton.addEventListener('click', () => actions.exportCsv(state.tab));
  const section = node('section', { className: 'card panel', id: `panel-${panel.id}` }, [
    node('div', { className: 'card-head' }, [
      node('h2', { id: titleId, textContent: panel.title }),
      node('div', { className: 'tabs' }, tabs),
    ]),
    node('table', { className: 'rows' }, [
      node('thead', {}, [node('tr', {}, [heading, node('th', { scope: 'col', className: 'num', textContent: 'Visitors' })])]),
      body,
    ]),
    node('div', { className: 'panel-foot' }, [exportButton]),
  ]);
  section.setAttribute('aria-labelledby', titleId);
  section.dataset.panel = panel.id;
  tabs.forEach((b) => b.setAttribute('aria-controls', section.id));

  function markTab() {
    for (const b of tabs) b.setAttribute('aria-pressed', String(b.dataset.tab === state.tab));
    heading.textContent = dimension(state.tab).label;
    section.dataset.tab = state.tab;
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
      return node('tr', {}, [cell, num]);
    });
    if (!rows.length) {
      rows.push(node('tr', {}, [node('td', { className: 'empty', colSpan: 2, textContent: 'Nothing in this period.' })]));
    }
    body.replaceChildren(...rows);
  }

  markTab();
  const api = {
    element: section,
    get dimension() {
      return dimension(state.tab);
    },
    render,
  };
  return api;
}
