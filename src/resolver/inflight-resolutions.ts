/**
 * Resolutions in progress, shared by every client query that needs the same name and type, with
 * the wait-for graph between them. A resolution that needs the address of a name server waits
 * on another resolution; when two zones' servers live in each other (a.example NS ns.b.example,
 * b.example NS ns.a.example, no glue), following that graph comes back to a resolution already
 * waiting, and joining it would wait for ever. `join` refuses such a wait at once ('cycle'),
 * whether the loop is inside one client query or runs across several (Unbound detects the same
 * with its mesh's dependency cycle check, `mesh_detect_cycle`).
 */
export class InflightResolutions<T> {
  private readonly running = new Map<string, Promise<T>>();
  /** Who waits on whom: the key of a running resolution → the keys it is waiting on, with counts. */
  private readonly waits = new Map<string, Map<string, number>>();

  get size(): number {
    return this.running.size;
  }

  /**
   * The result of the resolution `key`, started with `start` unless one is running already.
   * `path` holds the keys of the running resolutions the caller works for, innermost last;
   * 'cycle' when `key` is one of them or already waits, directly or not, on one of them.
   */
  join(key: string, path: readonly string[], start: () => Promise<T>): Promise<T> | 'cycle' {
    if (path.includes(key)) return 'cycle';
    let work = this.running.get(key);
    if (work) {
      if (this.waitsOnAny(key, new Set(path))) return 'cycle';
    } else {
      work = start().finally(() => this.running.delete(key));
      this.running.set(key, work);
    }
    const owner = path[path.length - 1];
    if (owner === undefined) return work;
    this.addWait(owner, key, 1);
    return work.finally(() => this.addWait(owner, key, -1));
  }

  private addWait(from: string, to: string, delta: number): void {
    let edges = this.waits.get(from);
    if (!edges) this.waits.set(from, (edges = new Map()));
    const n = (edges.get(to) ?? 0) + delta;
    if (n > 0) edges.set(to, n);
    else edges.delete(to);
    if (edges.size === 0) this.waits.delete(from);
  }

  private waitsOnAny(from: string, targets: ReadonlySet<string>): boolean {
    const seen = new Set<string>([from]);
    const stack = [from];
    while (stack.length > 0) {
      const edges = this.waits.get(stack.pop()!);
      if (!edges) continue;
      for (const next of edges.keys()) {
        if (targets.has(next)) return true;
        if (!seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
    return false;
  }
}
