// The time series chart: lines for visitors and pageviews (and, when
// comparing, the previous period's visitors) drawn as SVG by hand, sized to
// its container, with a plain table of the same numbers beside it.

import { count, fewer, fewerTitle } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const PAD = { top: 12, right: 12, bottom: 28, left: 44 };

function el(name, attrs = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * `2024-03-09 14:00:00` as `14:00`, `2024-03-09` as `9 Mar`, or as `Mar
 * 2024` when the buckets are months.
 */
export function bucketLabel(label, grain) {
  if (label.length > 10) return label.slice(11, 16);
  const month = MONTHS[Number(label.slice(5, 7)) - 1];
  if (grain === 'time:month') return `${month} ${label.slice(0, 4)}`;
  return `${Number(label.slice(8, 10))} ${month}`;
}

/** A round step so that about four grid lines cover `max`. */
function niceStep(max) {
  const rough = Math.max(max, 1) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  return Math.max(1, step);
}

/**
 * Draws into `container`. `labels` are the API's time buckets of `grain`
 * (`time:hour`, ...); each series is `{name, className, values}` with one
 * value per label.
 */
export function draw(container, labels, series, grain) {
  const width = Math.max(container.clientWidth, 280);
  const height = width < 500 ? 180 : 240;
  const inner = { w: width - PAD.left - PAD.right, h: height - PAD.top - PAD.bottom };
  const max = Math.max(1, ...series.flatMap((s) => s.values));
  const step = niceStep(max);
  const top = Math.ceil(max / step) * step;
  const x = (i) => PAD.left + (labels.length < 2 ? inner.w / 2 : (i * inner.w) / (labels.length - 1));
  const y = (v) => PAD.top + inner.h - (v / top) * inner.h;

  const svg = el('svg', {
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: 'img',
    'aria-label': summary(labels, series, grain),
  });
  for (let v = 0; v <= top; v += step) {
    svg.append(el('line', { class: 'grid', x1: PAD.left, x2: width - PAD.right, y1: y(v), y2: y(v) }));
    svg.append(el('text', { class: 'axis', x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, count(v)));
  }
  const every = Math.ceil(labels.length / Math.max(2, Math.floor(inner.w / 64)));
  labels.forEach((label, i) => {
    if (i % every === 0) {
      // The last label ends at the edge instead of running past it.
      const anchor = i === labels.length - 1 && labels.length > 1 ? 'end' : 'middle';
      svg.append(el('text', { class: 'axis', x: x(i), y: height - 8, 'text-anchor': anchor }, bucketLabel(label, grain)));
    }
  });
  for (const s of series) {
    // A hidden value (null: under the site's threshold) breaks the line.
    for (const run of runs(s.values)) {
      const points = run.map((i) => `${x(i).toFixed(1)},${y(s.values[i]).toFixed(1)}`).join(' ');
      svg.append(el('polyline', { class: `line ${s.className}`, points }));
    }
    if (labels.length <= 62) {
      s.values.forEach((v, i) => {
        if (v === null) return;
        const dot = el('circle', { class: `dot ${s.className}`, cx: x(i), cy: y(v), r: 3 });
        dot.append(el('title', {}, `${bucketLabel(labels[i], grain)}: ${count(v)} ${s.name.toLowerCase()}`));
        svg.append(dot);
      });
    }
  }
  container.replaceChildren(svg);
}

/** The positions of `values` as runs of consecutive non-null values. */
function runs(values) {
  const out = [];
  let run = [];
  values.forEach((v, i) => {
    if (v === null) {
      if (run.length) out.push(run);
      run = [];
    } else {
      run.push(i);
    }
  });
  if (run.length) out.push(run);
  return out;
}

function summary(labels, series, grain) {
  if (!labels.length) return 'No data';
  const totals = series.map((s) => `${s.name}: peak ${count(Math.max(0, ...s.values))}`).join('; ');
  const first = bucketLabel(labels[0], grain);
  return `From ${first} to ${bucketLabel(labels[labels.length - 1], grain)}. ${totals}.`;
}

/**
 * The chart's numbers as a table, for screen readers and copying; a value
 * hidden by the site's threshold `min` reads "< min".
 */
export function table(container, labels, series, min) {
  const t = document.createElement('table');
  const head = t.createTHead().insertRow();
  for (const name of ['Time', ...series.map((s) => s.name)]) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = name;
    head.append(th);
  }
  const body = t.createTBody();
  labels.forEach((label, i) => {
    const row = body.insertRow();
    row.insertCell().textContent = label;
    for (const s of series) {
      const cell = row.insertCell();
      cell.className = 'num';
      const v = s.values[i];
      if (v === null) {
        cell.textContent = fewer(min);
        cell.title = fewerTitle(min);
      } else {
        cell.textContent = count(v ?? 0);
      }
    }
  });
  container.replaceChildren(t);
}
