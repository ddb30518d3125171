import type { TrustPointView } from '../control-contract/trust.js';
import { chooseColumns, clip } from './column-choice.js';
import { relativeTime } from './key-table.js';
import { type Column, formatTable } from './table.js';

/** The default table's width budget, as a terminal's. */
export const SCREEN_COLUMNS = 120;

const stamp = (iso: string | undefined) => (iso === undefined ? '-' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'));

function columns(now: number, resultWidth: number, sourceWidth = Infinity): Record<string, Column<TrustPointView>> {
  return {
    zone: { header: 'TrustPoint', value: (p) => p.zone },
    state: { header: 'State', value: (p) => p.state },
    anchors: { header: 'Anchors', value: (p) => Object.entries(p.anchorCounts).map(([s, n]) => `${n} ${s}`).join(', ') },
    last: { header: 'LastActiveRefresh', value: (p) => relativeTime(p.lastRefresh, now) },
    next: { header: 'NextActiveRefresh', value: (p) => relativeTime(p.nextRefresh, now) },
    result: { header: 'LastResult', value: (p) => clip(p.lastResult ?? '-', resultWidth) },
    lasttime: { header: 'LastActiveRefresh', value: (p) => stamp(p.lastRefresh) },
    success: { header: 'LastSuccessfulRefresh', value: (p) => stamp(p.lastSuccess) },
    nexttime: { header: 'NextActiveRefresh', value: (p) => stamp(p.nextRefresh) },
    failures: { header: 'Failures', value: (p) => String(p.failures), align: 'right' },
    fullresult: { header: 'LastResult', value: (p) => p.lastResult ?? '-' },
    source: { header: 'Source', value: (p) => clip(sourcesOf(p), sourceWidth) },
    fullsource: { header: 'Source', value: sourcesOf },
  };
}

const NORMAL = ['zone', 'state', 'anchors', 'next', 'result', 'source'];
const WIDE = ['zone', 'state', 'anchors', 'lasttime', 'success', 'nexttime', 'failures', 'fullresult', 'fullsource'];

const sourcesOf = (p: TrustPointView) => (p.sources.length === 0 ? '-' : p.sources.join('; '));

/**
 * `trust-point list` for people: within SCREEN_COLUMNS by default (times as "3m ago"/"in 59m",
 * the last result cut to what is left), `--wide` with every time in full, or `--output` columns.
 */
export function formatTrustPointTable(points: readonly TrustPointView[], options: { wide?: boolean | undefined; output?: string | undefined; now?: number } = {}): string {
  const now = options.now ?? Date.now();
  // Measure the other default columns, then share what is left of the screen between the last
  // result and the sources (each cut with … when it does not fit; --wide has them whole).
  const others = chooseColumns(columns(now, 0), { normal: NORMAL.filter((c) => c !== 'result' && c !== 'source'), wide: WIDE }, {});
  const used = others.reduce((sum, c) => sum + Math.max(c.header.length, ...points.map((p) => c.value(p).length)) + 2, 0);
  const left = Math.max(0, SCREEN_COLUMNS - used - 2);
  const sourceWidth = Math.max('Source'.length, Math.min(Math.max(0, ...points.map((p) => sourcesOf(p).length)), Math.floor(left / 2)));
  const resultWidth = Math.max('LastResult'.length, left - sourceWidth);
  return formatTable(chooseColumns(columns(now, resultWidth, sourceWidth), { normal: NORMAL, wide: WIDE }, options), points);
}
