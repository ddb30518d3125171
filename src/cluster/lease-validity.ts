/**
 * How long this server may still count on its etcd lease. A keep-alive sent at time S that etcd
 * answers with TTL T proves the lease alive until S + T (etcd counts from when it received it,
 * which is after S). Until the next answer, the server is in doubt from S + T - margin: a holder
 * frozen, partitioned or slow stops acting as Key Master before etcd can hand the role to
 * another server. Pure: times come in as arguments (the caller's injectable clock).
 */
export class LeaseValidity {
  private validUntil = 0;

  constructor(private readonly marginMs: number) {}

  /** A keep-alive (or the grant) sent at `sentAt` was answered with `ttlSeconds` left. */
  confirmed(sentAt: number, ttlSeconds: number): void {
    if (ttlSeconds <= 0) return this.lost();
    this.validUntil = Math.max(this.validUntil, sentAt + ttlSeconds * 1000);
  }

  lost(): void {
    this.validUntil = 0;
  }

  /** True from the moment the lease might have expired (less the margin) until a fresh confirmation. */
  inDoubt(now: number): boolean {
    return now >= this.validUntil - this.marginMs;
  }

  /** Milliseconds of certainty left (0 when in doubt). */
  remaining(now: number): number {
    return Math.max(0, this.validUntil - this.marginMs - now);
  }
}
