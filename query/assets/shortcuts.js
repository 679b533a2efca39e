// Keyboard shortcuts, as Plausible's: a letter or digit picks a period
// (the keys are in periods.js), `x` turns the comparison on and off, `?`
// shows a list of them all, Escape closes it. Keys typed into a field, or
// with Ctrl, Alt or Meta, are left alone.

import { PERIODS } from './periods.js';

function node(tag, props = {}, children = []) {
  const n = Object.assign(document.createElement(tag), props);
  n.append(...children);
  return n;
}

/** Whether the key press belongs to a form field or a browser shortcut. */
function ignored(event) {
  if (event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return true;
  const t = event.target;
  return t instanceof HTMLElement && (t.isContentEditable || ['INPUT', 'SELECT', 'TEXTAREA'].includes(t.tagName));
}

/** The help overlay: a modal dialog listing every shortcut. */
function helpDialog(extra) {
  const rows = [
    ...PERIODS.map((p) => [p.key, p.label]),
    ...extra,
    ['?', 'Show this list'],
    ['Esc', 'Close it'],
  ].map(([key, what]) => node('tr', {}, [node('th', { scope: 'row' }, [node('kbd', { textContent: key })]), node('td', { textContent: what })]));
  const close = node('button', { type: 'button', className: 'primary', textContent: 'Close' });
  const dialog = node('dialog', { id: 'shortcuts-help', className: 'card dialog' }, [
    node('h2', { id: 'shortcuts-title', textContent: 'Keyboard shortcuts' }),
    node('table', { className: 'shortcuts' }, [node('tbody', {}, rows)]),
    node('div', { className: 'dialog-actions' }, [close]),
  ]);
  dialog.setAttribute('aria-labelledby', 'shortcuts-title');
  close.addEventListener('click', () => dialog.close());
  document.body.append(dialog);
  return dialog;
}

/**
 * Listens for the shortcuts. `actions.period(value)` picks a period,
 * `actions.toggleCompare()` flips the comparison; `enabled()` says whether
 * the dashboard is showing (not the sign-in form).
 */
export function install(actions) {
  const help = helpDialog([['x', 'Compare with the previous period, or stop comparing']]);
  document.addEventListener('keydown', (event) => {
    if (ignored(event) || !actions.enabled()) return;
    if (event.key === '?') {
      event.preventDefault();
      if (help.open) help.close();
      else help.showModal();
      return;
    }
    if (document.querySelector('dialog[open]')) return;
    const key = event.key.toLowerCase();
    const period = PERIODS.find((p) => p.key === key);
    if (period) {
      event.preventDefault();
      actions.period(period.value);
    } else if (key === 'x') {
      event.preventDefault();
      actions.toggleCompare();
    }
  });
  return help;
}
