import type { Column } from './table.js';
import { UsageError } from './usage.js';

/** The columns of a table a person asked for: `--output a,b,c` (names from `all`), `--wide`, or the default set. */
export function chooseColumns<Row>(
  all: Readonly<Record<string, Column<Row>>>,
  sets: { readonly normal: readonly string[]; readonly wide: readonly string[] },
  options: { readonly wide?: boolean | undefined; readonly output?: string | undefined },
): Column<Row>[] {
  const names = options.output !== undefined ? options.output.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '') : options.wide ? sets.wide : sets.normal;
  const unknown = names.filter((n) => !Object.hasOwn(all, n));
  if (unknown.length > 0 || names.length === 0)
    throw new UsageError(`--output: unknown column${unknown.length === 1 ? '' : 's'} ${unknown.join(', ') || '(none given)'}; choose from ${Object.keys(all).join(', ')}`);
  return names.map((n) => all[n]!);
}

/** Cuts `text` to `width` characters, marking the cut with "…". */
export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}
