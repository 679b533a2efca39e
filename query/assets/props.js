// The properties panel: pick a custom property key (the keys the period's
// events carry, from `api/dashboard/prop-keys`; with a goal filter, that
// goal's own keys first) and see its values with visitors and events, and,
// with a goal filter, the conversion rate: which `author` brings `Signup`s.
// A value is a button that filters the whole dashboard by it
// (`prop.author=Ana` in the URL).

import * as api from './api.js';
import { rate, shown } from './goals.js';

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

/** Values a panel shows. */
const ROWS = 10;

/**
 * The panel. `actions.filter(key, value)` filters by a property's value;
 * `actions.goal()` is the goal the view is filtered by (`is`, one goal),
 * if any.
 */
export function create(actions) {
  const picker = node('select', { id: 'prop-key', name: 'prop-key' });
  const body = node('tbody');
  const rateHead = node('th', { scope: 'col', className: 'num', textContent: 'Conversion rate' });
  const section = node('section', { className: 'card panel props-panel', id: 'panel-props' }, [
    node('div', { className: 'card-head' }, [
      node('h2', { id: 'panel-props-title', textContent: 'Properties' }),
      node('label', { className: 'prop-picker' }, ['Property ', picker]),
    ]),
    node('table', { className: 'rows' }, [
      node('thead', {}, [node('tr', {}, [
        node('th', { scope: 'col', textContent: 'Value' }),
        node('th', { scope: 'col', className: 'num', textContent: 'Visitors' }),
        node('th', { scope: 'col', className: 'num', textContent: 'Events' }),
        rateHead,
      ])]),
      body,
    ]),
  ]);
  section.setAttribute('aria-labelledby', 'panel-props-title');
  section.hidden = true;
  /** The key the editor picked, kept while the view changes. */
  let chosen = '';
  let lastQuery = null;
  let generation = 0;

  function render(key, results, withRate, k) {
    rateHead.hidden = !withRate;
    const max = Math.max(1, ...results.map((r) => r.metrics[0] ?? 0));
    const rows = results.map((r) => {
      const [visitors, events, cr] = r.metrics;
      const value = r.dimensions[0];
      const button = node('button', { type: 'button', className: 'row-filter', textContent: value, title: `Filter by ${key} ${value}` });
      button.dataset.value = value;
      button.addEventListener('click', () => actions.filter(key, value));
      const label = node('td', { className: 'label' }, [button]);
      label.style.setProperty('--share', `${((visitors ?? 0) / max) * 100}%`);
      const cells = [label, node('td', { className: 'num visitors', textContent: shown(visitors, k) }), node('td', { className: 'num events', textContent: shown(events, k) })];
      if (withRate) cells.push(node('td', { className: 'num conversion-rate', textContent: shown(cr, k, rate) }));
      return node('tr', {}, cells);
    });
    if (!rows.length) rows.push(node('tr', {}, [node('td', { className: 'empty', colSpan: 4, textContent: 'Nothing in this period.' })]));
    body.replaceChildren(...rows);
  }

  async function loadValues(query, key, current) {
    const goal = actions.goal();
    const metrics = ['visitors', 'events', ...(goal ? ['conversion_rate'] : [])];
    const answer = await api.query({
      ...query,
      metrics,
      dimensions: [`event:props:${key}`],
      order_by: [['visitors', 'desc']],
      pagination: { limit: ROWS },
    });
    if (current()) render(key, answer.results, Boolean(goal), answer.meta.min_visitors);
  }

  /**
   * Loads the panel for `query` (site, range, filters) over the resolved
   * days `range` (`[first, last]`); `current()` says whether the view is
   * still the same.
   */
  async function load(query, range, current) {
    const mine = ++generation;
    const still = () => current() && mine === generation;
    lastQuery = { query, current };
    const { keys } = await api.propKeys(query.site_id, range, actions.goal());
    if (!still()) return;
    section.hidden = keys.length === 0;
    if (!keys.length) return;
    const key = pick(keys);
    picker.replaceChildren(...keys.map((k) => new Option(k.goal ? `${k.key} (goal)` : k.key, k.key)));
    picker.value = key;
    section.dataset.key = key;
    await loadValues(query, key, still);
  }

  /**
   * The key to show: the one picked before if the period has it (and,
   * with a goal filter, if it is one of the goal's own), else the first.
   */
  function pick(keys) {
    const goalKeys = keys.filter((k) => k.goal);
    const candidates = goalKeys.length ? goalKeys : keys;
    return candidates.some((k) => k.key === chosen) ? chosen : candidates[0].key;
  }

  picker.addEventListener('change', async () => {
    chosen = picker.value;
    section.dataset.key = chosen;
    if (!lastQuery) return;
    const mine = ++generation;
    const { query, current } = lastQuery;
    try {
      await loadValues(query, chosen, () => current() && mine === generation);
    } catch (e) {
      actions.failed(e);
    }
  });

  return { element: section, load };
}
