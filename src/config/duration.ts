const UNIT_SECONDS: Record<string, number> = { w: 604_800, d: 86_400, h: 3_600, m: 60, s: 1 };

/**
 * Parses a duration to whole seconds: `30d`, `12h`, `90m`, `45s`, `2w`, compounds such as
 * `1d12h`, or a plain number of seconds (`3600`). Throws an Error saying what is wrong.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${value} is not a whole number of seconds`);
    return value;
  }
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return parseDuration(Number(trimmed));
  if (!/^([0-9]+[wdhms])+$/i.test(trimmed))
    throw new Error(`"${value}" is not a duration (use e.g. 30d, 12h, 90m, 45s, 1d12h, or seconds)`);
  let seconds = 0;
  for (const [, amount, unit] of trimmed.matchAll(/([0-9]+)([wdhms])/gi)) seconds += Number(amount) * UNIT_SECONDS[unit!.toLowerCase()]!;
  if (!Number.isSafeInteger(seconds)) throw new Error(`"${value}" is too long`);
  return seconds;
}

/** Seconds as the largest exact units: 2592000 → `30d`, 5400 → `1h30m`, 0 → `0s`. */
export function formatDuration(seconds: number): string {
  let rest = Math.floor(seconds);
  let out = '';
  for (const [unit, size] of Object.entries(UNIT_SECONDS)) {
    if (unit === 'w') continue;
    if (rest >= size) {
      out += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return out === '' ? '0s' : out;
}
