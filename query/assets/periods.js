// The periods the date picker offers: how each is named in the URL and the
// picker, its keyboard shortcut (Plausible's letters where the brief names
// them), and the Stats API `date_range` it stands for. The one list: the
// picker, the shortcuts and their help overlay are all made from it.
//
// "Today" is the site's: the server's clock in the site's time zone (see
// `setClock`), so "yesterday" and "year to date" are the days the API
// means, whatever the browser's own clock and zone.

export const PERIODS = [
  { value: 'realtime', label: 'Realtime', key: 'r' },
  { value: 'day', label: 'Today', key: 'd', range: () => 'day' },
  { value: 'yesterday', label: 'Yesterday', key: 'e', range: (today) => [shift(today, -1), shift(today, -1)] },
  { value: '7d', label: 'Last 7 days', key: '7', range: () => '7d' },
  { value: '30d', label: 'Last 30 days', key: '3', range: () => '30d' },
  { value: 'month', label: 'This month', key: 'm', range: () => 'month' },
  { value: '90d', label: 'Last 90 days', key: '9', range: () => '90d' },
  { value: 'year', label: 'Year to date', key: 'y', range: (today) => [`${today.slice(0, 4)}-01-01`, today] },
  { value: '12mo', label: 'Last 12 months', key: 'l', range: () => '12mo' },
  { value: 'all', label: 'All time', key: 'a', range: () => 'all' },
  { value: 'custom', label: 'Custom range', key: 'c' },
];

export function period(value) {
  return PERIODS.find((p) => p.value === value);
}

/** Milliseconds the server's clock is ahead of the browser's. */
let skew = 0;

/** Aligns "today" with the server: `now` is its RFC 3339 clock reading. */
export function setClock(now) {
  const server = Date.parse(now);
  skew = Number.isNaN(server) ? 0 : server - Date.now();
}

/** The server's current day in `timeZone` (YYYY-MM-DD). */
export function today(timeZone) {
  const at = new Date(Date.now() + skew);
  try {
    // en-CA writes dates as YYYY-MM-DD.
    return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
  } catch {
    return at.toISOString().slice(0, 10);
  }
}

/** `day` (YYYY-MM-DD) moved by `days`. */
export function shift(day, days) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * The Stats API `date_range` of a view, `today` being the site's day. A
 * custom range without valid days reads as the last 30 days.
 */
export function dateRange(view, today) {
  if (view.period === 'custom') {
    return view.from && view.to && view.from <= view.to ? [view.from, view.to] : '30d';
  }
  const p = period(view.period);
  return p?.range ? p.range(today) : '30d';
}

/**
 * The chart's time grain for a resolved range (`[first, last]` RFC 3339
 * times, as the API echoes it): hours for one day, days up to about three
 * months, months beyond.
 */
export function grain(range) {
  const first = range[0].slice(0, 10);
  const last = range[1].slice(0, 10);
  if (first === last) return 'time:hour';
  const days = (Date.parse(`${last}T00:00:00Z`) - Date.parse(`${first}T00:00:00Z`)) / 86400000 + 1;
  return days <= 92 ? 'time:day' : 'time:month';
}
