// A site's first run: until its first event arrives, the dashboard shows the
// tracker snippet to paste (written by the server, which knows the
// collector's address) and waits, asking `api/dashboard/setup` again every
// few seconds. When an event is there it hands back to the reports; the page
// never reloads.

import * as api from './api.js';

const $ = (id) => document.getElementById(id);
/** How often to ask while waiting: one tiny ClickHouse query each time. */
export const POLL_MS = 3000;
const WAITING = 'Waiting for the first pageview…';

let timer = 0;
/** Bumped by `stop`, so a check that was already on its way is ignored. */
let round = 0;

/** Shows the panel for `setup` (an answer of `api.setup`) instead of the reports. */
export function show(setup) {
  $('first-run-site').textContent = setup.site_id;
  $('snippet').value = setup.snippet;
  $('copy-status').textContent = '';
  $('waiting-text').textContent = WAITING;
  $('snippet-hint').replaceChildren(...hint(setup));
  $('reports').hidden = true;
  $('first-run').hidden = false;
}

/** Back to the reports (also when the panel was never shown). */
export function hide() {
  stop();
  // Focus on the copy button would be lost with the panel: to the reports.
  if ($('first-run').contains(document.activeElement)) $('main').focus();
  $('first-run').hidden = true;
  $('reports').hidden = false;
}

/** Stops waiting. */
export function stop() {
  round += 1;
  clearTimeout(timer);
  timer = 0;
}

/**
 * Asks every POLL_MS whether `site` has an event; calls `arrived` once it
 * has, `failed` with an error that ends the wait (the session is gone).
 * Other errors are shown and the wait goes on. No request while the tab is
 * hidden; one at once when it is shown again.
 */
export function wait(site, { arrived, failed }) {
  stop();
  const mine = ++round;
  const current = () => mine === round;
  const check = async () => {
    if (!current()) return;
    if (document.hidden) {
      document.addEventListener('visibilitychange', check, { once: true });
      return;
    }
    try {
      const answer = await api.setup(site);
      if (!current()) return;
      if (answer.has_events) {
        stop();
        arrived();
        return;
      }
      $('waiting-text').textContent = WAITING;
    } catch (e) {
      if (!current()) return;
      if (e.status === 401) {
        stop();
        failed(e);
        return;
      }
      $('waiting-text').textContent = `Still waiting for the first pageview; the last check failed (${e.message}). Trying again…`;
    }
    timer = setTimeout(check, POLL_MS);
  };
  timer = setTimeout(check, POLL_MS);
}

/** Copies the snippet; where the clipboard is out of reach, selects it instead. */
async function copy() {
  const field = $('snippet');
  const said = $('copy-status');
  said.textContent = '';
  try {
    await navigator.clipboard.writeText(field.value);
    said.textContent = 'Copied to the clipboard.';
    return;
  } catch {
    // No clipboard API (a page over plain http on another host) or no
    // permission: the older way, from the selected text.
  }
  field.focus();
  field.select();
  let copied = false;
  try {
    copied = document.execCommand('copy');
  } catch {
    copied = false;
  }
  said.textContent = copied
    ? 'Copied to the clipboard.'
    : 'Selected: press Ctrl+C (⌘C on a Mac) to copy.';
}

/** What the editor should know about the snippet, as nodes. */
function hint(setup) {
  const code = (text) => {
    const c = document.createElement('code');
    c.textContent = text;
    return c;
  };
  const parts = [];
  if (setup.collector_url_from === 'listen') {
    parts.push(para(
      'The address is the collector\'s ', code('[collector] listen'), ' from the config. ',
      'If browsers reach the collector under another name (a reverse proxy, or a path on your own site), set ',
      code('[collector] public_url'), ' to that URL and restart the query service.',
    ));
  } else {
    parts.push(para('The address is the collector\'s ', code('[collector] public_url'), ' from the config.'));
  }
  if (setup.local) {
    parts.push(para(
      code('data-local'), ' lets the tracker send from pages on localhost, where it otherwise stays silent. ',
      'Leave it out on a public site.',
    ));
  }
  return parts;
}

function para(...children) {
  const p = document.createElement('p');
  p.append(...children);
  return p;
}

$('copy-snippet').addEventListener('click', copy);
