// The service's own API as the dashboard calls it: same origin, the session
// cookie, and the header that marks a request as coming from these scripts.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// A report refused because too many run at once (429 with a short
// Retry-After) is sent again after that wait, a few times at most.
const RETRIES = 5;
const MAX_RETRY_WAIT_SECONDS = 5;

function shortRetryAfter(response) {
  if (response.status !== 429) return null;
  const seconds = Number(response.headers.get('Retry-After'));
  return seconds > 0 && seconds <= MAX_RETRY_WAIT_SECONDS ? seconds : null;
}

async function call(path, { method = 'GET', body, accept = 'application/json' } = {}) {
  const headers = { 'X-Requested-With': 'dashboard', Accept: accept };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let response;
  for (let attempt = 0; ; attempt++) {
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'The analytics service cannot be reached.');
    }
    const wait = shortRetryAfter(response);
    if (wait === null || attempt >= RETRIES) break;
    await new Promise((resolve) => setTimeout(resolve, wait * 1000));
  }
  if (!response.ok) {
    let message = `The service answered ${response.status}.`;
    try {
      message = (await response.json()).error || message;
    } catch {
      // Not JSON: keep the status line.
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

export async function login(token) {
  return (await call('api/dashboard/login', { method: 'POST', body: { token } })).json();
}

export async function logout() {
  await call('api/dashboard/logout', { method: 'POST' });
}

export async function sites() {
  return (await call('api/dashboard/sites')).json();
}

/** Whether `site` has any event yet, and the tracker snippet to paste. */
export async function setup(site) {
  const url = `api/dashboard/setup?site_id=${encodeURIComponent(site)}`;
  return (await call(url)).json();
}

export async function query(body) {
  return (await call('api/v2/query', { method: 'POST', body })).json();
}

export async function queryCsv(body) {
  return (await call('api/v2/query', { method: 'POST', body, accept: 'text/csv' })).blob();
}

export async function realtime(site) {
  const url = `api/v1/stats/realtime/visitors?site_id=${encodeURIComponent(site)}`;
  return (await call(url)).json();
}

/** The realtime view: current visitors and the last 30 minutes. */
export async function realtimeView(site) {
  const url = `api/dashboard/realtime?site_id=${encodeURIComponent(site)}`;
  return (await call(url)).json();
}

/** The site's goals (config): `[{name, event | page, currency}]`. */
export async function goals(site) {
  const url = `api/dashboard/goals?site_id=${encodeURIComponent(site)}`;
  return (await call(url)).json();
}

/**
 * The property keys of the site's events on the days `range` (`[first,
 * last]`), the keys of `goal`'s events first when given.
 */
export async function propKeys(site, range, goal) {
  const params = new URLSearchParams({ site_id: site, from: range[0], to: range[1] });
  if (goal) params.set('goal', goal);
  return (await call(`api/dashboard/prop-keys?${params}`)).json();
}
