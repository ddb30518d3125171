/**
 * A strict reader of the Prometheus text format (0.0.4) for tests: every line must be a HELP,
 * a TYPE or a sample of a family announced by TYPE, with well-formed labels and a number.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface ParsedMetrics {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
  /** Samples of `name` whose labels include all of `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
  /** The one sample of `name` with those labels; throws when there is not exactly one. */
  value(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/;

export function parsePrometheusText(text: string): ParsedMetrics {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition does not end with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const [i, line] of text.split('\n').slice(0, -1).entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary|histogram|untyped)$/.exec(line);
    if (type) {
      if (types.has(type[1]!)) throw new Error(`TYPE repeated, ${where}`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const family = [...types.keys()].find((f) => m[1] === f || (types.get(f) === 'summary' && (m[1] === `${f}_sum` || m[1] === `${f}_count`)));
    if (!family) throw new Error(`sample before its TYPE, ${where}`);
    const labels: Record<string, string> = {};
    let rest = m[3] ?? '';
    while (rest !== '') {
      const l = LABEL.exec(rest);
      if (!l) throw new Error(`bad labels, ${where}`);
      if (l[1]! in labels) throw new Error(`label repeated, ${where}`);
      labels[l[1]!] = l[2]!.replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(l[0].length);
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    if (Number.isNaN(value) && m[4] !== 'NaN') throw new Error(`bad value, ${where}`);
    samples.push({ name: m[1]!, labels, value });
  }
  const find = (name: string, want: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return {
    samples,
    types,
    find,
    value: (name, want) => {
      const found = find(name, want);
      if (found.length !== 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(want ?? {})}`);
      return found[0]!.value;
    },
  };
}
