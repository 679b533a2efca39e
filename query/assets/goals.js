// The goal conversions panel: each of the site's goals with its unique
// visitors, total completions, conversion rate and, for revenue goals, the
// revenue, from the Stats API (`event:goal` with `conversion_rate` and
// `total_revenue`). Goals nobody completed in the period are listed at
// zero (the list of goals comes from `api/dashboard/goals`). A goal is a
// button that filters the whole dashboard by it.

import * as api from './api.js';
import { count, fewer } from './format.js';

const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** A conversion rate as the panel writes it: `33.3%`. */
export function rate(n) {
  return `${oneDecimal.format(n ?? 0)}%`;
}

/**
 * A number of a row, or `< K` where the site's privacy threshold hides it
 * (`null`, with `k` its `meta.min_visitors`).
 */
export function shown(n, k, write = count) {
  return n === null && k ? fewer(k) : write(n ?? 0);
}

/** Money as the API writes it (`short`), or `–` for none. */
function money(m) {
  if (!m || m.value === null || m.value === undefined) return '–';
  const others = (m.other_currencies ?? []).map((o) => o.short).filter(Boolean);
  return [m.short ?? `${m.value} ${m.currency}`, ...others].join(' + ');
}

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

const COLUMNS = ['Goal', 'Uniques', 'Total', 'Conversion rate', 'Revenue'];

/** The panel; `actions.filter(goal)` filters the dashboard by a goal. */
export function create(actions) {
  const body = node('tbody');
  const head = node('tr', {}, COLUMNS.map((c, i) => node('th', { scope: 'col', className: i ? 'num' : '', textContent: c })));
  const section = node('section', { className: 'card panel goals-panel', id: 'panel-goals' }, [
    node('div', { className: 'card-head' }, [node('h2', { id: 'panel-goals-title', textContent: 'Goal conversions' })]),
    node('table', { className: 'rows goals-table' }, [node('thead', {}, [head]), body]),
  ]);
  section.setAttribute('aria-labelledby', 'panel-goals-title');
  section.hidden = true;
  /** The site's goals, by site: config, so asked once. */
  const known = new Map();

  async function goalsOf(site) {
    if (!known.has(site)) known.set(site, (await api.goals(site)).goals);
    return known.get(site);
  }

  function render(goals, results, k) {
    const byName = new Map(results.map((r) => [r.dimensions[0], r.metrics]));
    const revenue = goals.some((g) => g.currency);
    section.classList.toggle('with-revenue', revenue);
    head.lastChild.hidden = !revenue;
    const max = Math.max(1, ...results.map((r) => r.metrics[0] ?? 0));
    // Most converting first; goals nobody completed keep their config order.
    const visitorsOf = (goal) => byName.get(goal.name)?.[0] ?? 0;
    const sorted = [...goals].sort((a, b) => visitorsOf(b) - visitorsOf(a));
    const rows = sorted.map((goal) => {
      const [visitors, events, cr, total] = byName.get(goal.name) ?? [0, 0, 0, null];
      const button = node('button', { type: 'button', className: 'row-filter', textContent: goal.name, title: `Filter by ${goal.name}` });
      button.dataset.value = goal.name;
      button.addEventListener('click', () => actions.filter(goal.name));
      const label = node('td', { className: 'label' }, [button]);
      label.style.setProperty('--share', `${((visitors ?? 0) / max) * 100}%`);
      const cells = [
        label,
        node('td', { className: 'num visitors', textContent: shown(visitors, k) }),
        node('td', { className: 'num events', textContent: shown(events, k) }),
        node('td', { className: 'num conversion-rate', textContent: shown(cr, k, rate) }),
      ];
      if (revenue) cells.push(node('td', { className: 'num revenue', textContent: goal.currency ? money(total) : '–' }));
      const tr = node('tr', {}, cells);
      tr.dataset.goal = goal.name;
      return tr;
    });
    body.replaceChildren(...rows);
  }

  /**
   * Loads the panel for `query` (the base of every report: site, range,
   * filters); `current()` says whether the view is still the same.
   */
  async function load(query, current) {
    const goals = await goalsOf(query.site_id);
    if (!current()) return;
    section.hidden = goals.length === 0;
    if (!goals.length) return;
    const revenue = goals.some((g) => g.currency);
    const metrics = ['visitors', 'events', 'conversion_rate', ...(revenue ? ['total_revenue'] : [])];
    const answer = await api.query({
      ...query,
      metrics,
      dimensions: ['event:goal'],
      order_by: [['visitors', 'desc']],
      pagination: { limit: 100 },
    });
    if (current()) render(goals, answer.results, answer.meta.min_visitors);
  }

  return { element: section, load };
}
