import type { Name } from '../wire/name.js';

/**
 * RFC 8945 §5.2.3: a signed request stays acceptable for its whole time window, so a recorded
 * UPDATE could be sent again and applied again. The MACs of requests accepted inside the window
 * are remembered until their time has passed, and a second request with one of them is a replay.
 * Only requests whose MAC verified are remembered: without the key nobody can fill this.
 */
export class TsigReplayGuard {
  /** `key/MAC` → the unix second after which the request is outside any window. */
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(
    /** The window half-width in seconds: the server's fudge bound. */
    private readonly windowSeconds: number,
    /** Beyond this many remembered MACs the oldest are dropped first (a bound on memory; far above any real update rate in 10 minutes). */
    private readonly maxEntries = 200_000,
  ) {}

  /** True when this MAC was accepted before and its window has not passed; otherwise remembers it and returns false. */
  replayed(keyName: Name, mac: Uint8Array, timeSigned: number, now: number): boolean {
    if (now >= this.nextSweep || this.seen.size >= this.maxEntries) this.sweep(now);
    const id = `${keyName.lowercase().key}/${Buffer.from(mac).toString('base64')}`;
    const until = this.seen.get(id);
    if (until !== undefined && until >= now) return true;
    this.seen.set(id, timeSigned + this.windowSeconds);
    return false;
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(now: number): void {
    this.nextSweep = now + Math.max(1, Math.floor(this.windowSeconds / 4));
    for (const [id, until] of this.seen) if (until < now) this.seen.delete(id);
    // Map order is insertion order: the oldest go first when the bound is still reached.
    for (const id of this.seen.keys()) {
      if (this.seen.size < this.maxEntries) break;
      this.seen.delete(id);
    }
  }
}
