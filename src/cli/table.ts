/** Aligned plain-text output for people, in the manner of PowerShell's Format-Table and Format-List. */

export interface Column<Row> {
  readonly header: string;
  readonly value: (row: Row) => string;
  /** Numbers read best right-aligned; default left. */
  readonly align?: 'left' | 'right';
}

const GAP = '  ';

function pad(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  return align === 'right' ? text.padStart(width) : text.padEnd(width);
}

/**
 * A header row, a dashed rule and one line per row, columns as wide as their widest cell:
 *
 *   Zone       State   KeyTag
 *   ----       -----   ------
 *   example.   Valid    20326
 */
export function formatTable<Row>(columns: readonly Column<Row>[], rows: readonly Row[]): string {
  const cells = rows.map((row) => columns.map((c) => c.value(row)));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values.map((v, i) => pad(v, widths[i]!, columns[i]!.align)).join(GAP).trimEnd();
  return [line(columns.map((c) => c.header)), line(columns.map((c) => '-'.repeat(c.header.length))), ...cells.map(line)].join('\n');
}

/** `Label : value` lines with the colons aligned, for one object's fields. */
export function formatFields(fields: readonly (readonly [label: string, value: string])[]): string {
  const width = Math.max(0, ...fields.map(([label]) => label.length));
  return fields.map(([label, value]) => `${label.padEnd(width)} : ${value}`.trimEnd()).join('\n');
}
