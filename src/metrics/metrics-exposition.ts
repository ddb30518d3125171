/**
 * The Prometheus text exposition format (version 0.0.4), written by hand: every figure Keymaster
 * exports already lives in a counter or a view somewhere, so a scrape only reads them; a registry
 * of metric objects (prom-client) would mean keeping a second copy of each up to date.
 */

export type MetricType = 'counter' | 'gauge' | 'summary';

export interface MetricSample {
  readonly labels?: Readonly<Record<string, string | number>>;
  readonly value: number;
  /** A suffix such as `_sum` or `_count` (summaries). */
  readonly suffix?: string;
}

export interface MetricFamily {
  /** `[a-zA-Z_:][a-zA-Z0-9_:]*`; counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly MetricSample[];
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Families with no samples are left out; a bad name throws (a programming error, not input). */
export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`bad metric name ${family.name}`);
    if (family.samples.length === 0) continue;
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels ?? {});
      for (const [name] of labels) if (!LABEL_NAME.test(name) || name.startsWith('__')) throw new Error(`bad label name ${name} on ${family.name}`);
      const labelText = labels.length === 0 ? '' : `{${labels.map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(',')}}`;
      lines.push(`${family.name}${sample.suffix ?? ''}${labelText} ${formatValue(sample.value)}`);
    }
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** Seconds from `now` (ms) to `time` (ISO string or ms); negative once passed. */
export function secondsUntil(time: string | number, now: number): number {
  const at = typeof time === 'number' ? time : Date.parse(time);
  return Math.round((at - now) / 1000);
}
