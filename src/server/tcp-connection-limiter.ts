/** Why a connection was refused at accept. */
export type ConnectionRefusal = 'total' | 'per-client';

/**
 * Counts open DNS-over-TCP connections, in total and per client address, across every TCP
 * listener of the process. A TCP connection holds a socket, buffers and a slot in the pipeline
 * for as long as the client likes, so both counts are capped (RFC 7766 §6.2.2: servers should
 * limit them, per client too, so one host cannot starve the rest).
 */
export class TcpConnectionLimiter {
  private open = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    readonly maxTotal: number,
    readonly maxPerClient: number,
  ) {}

  /** Takes a slot for `client`, or says which limit is full. */
  acquire(client: string): ConnectionRefusal | undefined {
    if (this.open >= this.maxTotal) return 'total';
    const mine = this.perClient.get(client) ?? 0;
    if (mine >= this.maxPerClient) return 'per-client';
    this.open++;
    this.perClient.set(client, mine + 1);
    return undefined;
  }

  release(client: string): void {
    const mine = this.perClient.get(client);
    if (mine === undefined) return;
    this.open--;
    if (mine <= 1) this.perClient.delete(client);
    else this.perClient.set(client, mine - 1);
  }

  get openConnections(): number {
    return this.open;
  }
}
