// How the dashboard writes numbers: whole counts with thousands separators,
// percentages, durations and the change against the previous period.

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const twoPlaces = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

export function count(n) {
  return whole.format(n);
}

/**
 * How a number the site's threshold hides reads (the API answers it as
 * `null`, with `meta.min_visitors` = K): "< K", said in full on hover.
 */
export function fewer(k) {
  return `< ${whole.format(k)}`;
}

export function fewerTitle(k) {
  return `Fewer than ${whole.format(k)} visitors: hidden by this site's privacy threshold`;
}

export function decimal(n) {
  return twoPlaces.format(n);
}

export function percent(n) {
  return `${whole.format(n)}%`;
}

/** Seconds as `45s`, `3m 05s` or `2h 10m`. */
export function duration(seconds) {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * The change from `previous` to `current`: relative for counts, in
 * percentage points for a rate. `null` when there is nothing to compare with.
 */
export function change(current, previous, points) {
  if (points) {
    const diff = Math.round(current - previous);
    return { value: diff, text: `${diff > 0 ? '+' : ''}${diff} pp` };
  }
  if (!previous) return null;
  const diff = Math.round(((current - previous) / previous) * 100);
  return { value: diff, text: `${diff > 0 ? '+' : ''}${diff}%` };
}

const regionNames = typeof Intl.DisplayNames === 'function'
  ? new Intl.DisplayNames(['en'], { type: 'region' })
  : null;

/** A country code as its English name, keeping the code when unknown. */
export function country(code) {
  if (!code || !regionNames) return code;
  try {
    return regionNames.of(code) || code;
  } catch {
    return code;
  }
}
