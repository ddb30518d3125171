import type { ResourceRecord } from './message.js';

/** Records grouped into RRsets by owner (case-folded), class and type, in first-seen order. */
export function groupRrsets(records: readonly ResourceRecord[]): ResourceRecord[][] {
  const sets = new Map<string, ResourceRecord[]>();
  for (const rr of records) {
    const key = `${rr.name.key}/${rr.class}/${rr.type}`;
    const set = sets.get(key);
    if (set) set.push(rr);
    else sets.set(key, [rr]);
  }
  return [...sets.values()];
}
