// The filters: their chips (click one to remove it) and the form that adds
// one, with every operator the Stats API has for a dimension (is, is not,
// contains, does not contain) and any number of values, any of which may
// match. The form suggests the values the current view has, from the API.

import { display } from './breakdowns.js';
import { DIMENSIONS, OPERATORS, dimension, operator } from './view.js';

const $ = (id) => document.getElementById(id);

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

/** How a filter reads: "Source is Google or Bing". */
export function describe(filter) {
  const d = dimension(filter.key);
  const values = filter.values.map((v) => display(filter.key, v));
  return { label: d.label, op: operator(filter.op).text, values: values.join(' or ') };
}

/**
 * Draws the chips of `filters` into `#filters`; `remove(filter)` is called
 * when one is clicked.
 */
export function renderChips(filters, remove) {
  const list = $('filters');
  const chips = filters.map((filter) => {
    const { label, op, values } = describe(filter);
    const button = node('button', { type: 'button', className: 'chip' });
    button.setAttribute('aria-label', `Remove filter: ${label} ${op} ${values}`);
    button.dataset.key = filter.key;
    button.dataset.op = filter.op;
    button.append(`${label} ${op} `, node('strong', { textContent: values }), ' ');
    const x = node('span', { className: 'remove', textContent: '×' });
    x.setAttribute('aria-hidden', 'true');
    button.append(x);
    button.addEventListener('click', () => remove(filter));
    return node('li', {}, [button]);
  });
  list.replaceChildren(...chips);
  list.hidden = chips.length === 0;
}

/**
 * Builds the "Filter" button and its dialog into the filters row.
 * `actions.add(filter)` applies a new filter; `actions.suggest(key)`
 * resolves to the values to offer for a dimension.
 */
export function create(actions) {
  const keySelect = node('select', { id: 'filter-key', name: 'key' },
    DIMENSIONS.filter((d) => d.key !== 'goal').map((d) => new Option(d.label, d.key)));
  const opSelect = node('select', { id: 'filter-op', name: 'op' },
    OPERATORS.map((o) => new Option(o.text, o.op)));
  const suggestions = node('datalist', { id: 'filter-suggestions' });
  const values = node('div', { id: 'filter-values', className: 'filter-values' });
  const addValue = node('button', { type: 'button', id: 'filter-add-value', textContent: 'Add another value' });
  const error = node('p', { className: 'error', id: 'filter-error' });
  error.setAttribute('role', 'alert');
  const apply = node('button', { type: 'submit', className: 'primary', id: 'filter-apply', textContent: 'Apply filter' });
  const cancel = node('button', { type: 'button', id: 'filter-cancel', textContent: 'Cancel' });
  const form = node('form', { className: 'filter-form', id: 'filter-form' }, [
    node('h2', { id: 'filter-title', textContent: 'Filter the dashboard' }),
    node('label', {}, ['Dimension ', keySelect]),
    node('label', {}, ['Operator ', opSelect]),
    node('fieldset', { className: 'filter-fieldset' }, [
      node('legend', { textContent: 'Values (any of them)' }),
      values,
      addValue,
    ]),
    suggestions,
    error,
    node('div', { className: 'dialog-actions' }, [apply, cancel]),
  ]);
  const dialog = node('dialog', { id: 'filter-dialog', className: 'card dialog' }, [form]);
  dialog.setAttribute('aria-labelledby', 'filter-title');
  const open = node('button', { type: 'button', id: 'add-filter', className: 'add-filter', textContent: '+ Filter' });
  open.setAttribute('aria-haspopup', 'dialog');

  function valueRow(value = '') {
    const input = node('input', { type: 'text', name: 'value', value, spellcheck: false, autocomplete: 'off' });
    input.setAttribute('list', 'filter-suggestions');
    input.setAttribute('aria-label', 'Value');
    const remove = node('button', { type: 'button', className: 'remove-value', textContent: '×' });
    remove.setAttribute('aria-label', 'Remove this value');
    const row = node('div', { className: 'filter-value' }, [input, remove]);
    remove.addEventListener('click', () => {
      if (values.children.length > 1) row.remove();
      else input.value = '';
    });
    values.append(row);
    return input;
  }

  async function suggest() {
    const key = keySelect.value;
    try {
      const options = await actions.suggest(key);
      if (keySelect.value === key) suggestions.replaceChildren(...options.map((v) => new Option(v)));
    } catch {
      suggestions.replaceChildren();
    }
  }

  open.addEventListener('click', () => {
    values.replaceChildren();
    valueRow();
    error.textContent = '';
    dialog.showModal();
    suggest();
    keySelect.focus();
  });
  keySelect.addEventListener('change', suggest);
  addValue.addEventListener('click', () => valueRow().focus());
  cancel.addEventListener('click', () => dialog.close());
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const chosen = [...values.querySelectorAll('input')].map((i) => i.value.trim()).filter(Boolean);
    if (!chosen.length) {
      error.textContent = 'Enter at least one value.';
      return;
    }
    dialog.close();
    actions.add({ key: keySelect.value, op: opSelect.value, values: [...new Set(chosen)] });
  });
  return { button: open, dialog };
}
