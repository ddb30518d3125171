/**
 * Cluster mode: two servers may write the trust-anchors document at once. A write is
 * compare-and-swap; when another server wrote first, the two are merged entry by entry (trust
 * points by zone, config imports by file) against the document both started from (`base`): an
 * entry this server did not change since takes the other server's version (or its removal); one
 * it changed keeps its own. Entries are immutable objects, replaced on every change, so "did not
 * change" is identity.
 */
export function mergeByKey<T>(base: ReadonlyMap<string, T>, ours: ReadonlyMap<string, T>, theirs: ReadonlyMap<string, T>): Map<string, T> {
  const merged = new Map<string, T>();
  for (const key of new Set([...base.keys(), ...ours.keys(), ...theirs.keys()])) {
    const mine = ours.get(key);
    const pick = mine === base.get(key) ? theirs.get(key) : mine;
    if (pick !== undefined) merged.set(key, pick);
  }
  return merged;
}
