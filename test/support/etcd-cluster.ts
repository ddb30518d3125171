import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { removeDir, tempDir } from './external-servers.js';

/**
 * A real etcd cluster (Debian's `etcd-server`, 3.4) on loopback, one process per member, each
 * with its own temp data dir, started and stopped by PID (never by name: a developer's own etcd
 * on 127.0.0.1:2379 is left alone). Tests check `haveTool('etcd')` first, so CI fails when the
 * package is missing instead of skipping.
 */
export interface EtcdMember {
  readonly name: string;
  readonly host: string;
  /** `http://HOST:2379`, what a client dials. */
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  process?: ChildProcess;
  log: string;
}

export interface EtcdClusterOptions {
  /** The members' loopback addresses (one per member; three for a quorum that survives one loss). */
  readonly hosts: readonly string[];
  readonly clientPort?: number;
  readonly peerPort?: number;
  /** Clients over TLS with client certificates (PEM files): etcd's certificate and key, and the CA it trusts for clients. */
  readonly tls?: { readonly cert: string; readonly key: string; readonly clientCa: string; readonly clientCert: string; readonly clientKey: string; readonly ca: string };
}

export class EtcdCluster {
  readonly members: EtcdMember[];
  private readonly token = `keymaster-test-${process.pid}-${Date.now()}`;

  constructor(private readonly options: EtcdClusterOptions) {
    const clientPort = options.clientPort ?? 2379;
    const peerPort = options.peerPort ?? 2380;
    this.members = options.hosts.map((host, i) => ({
      name: `m${i + 1}`,
      host,
      clientUrl: `${options.tls ? 'https' : 'http'}://${host}:${clientPort}`,
      peerUrl: `http://${host}:${peerPort}`,
      dataDir: tempDir(`etcd-m${i + 1}`),
      log: '',
    }));
  }

  /** Every client URL, as a Keymaster's `cluster.etcd.endpoints`. */
  get endpoints(): string[] {
    return this.members.map((m) => m.clientUrl);
  }

  /** Starts every member and waits until each reports healthy (a leader is elected). */
  async start(): Promise<void> {
    for (const m of this.members) this.spawnMember(m);
    await Promise.all(this.members.map((m) => this.waitHealthy(m)));
  }

  /** Starts a stopped or killed member again on its data dir (it rejoins with what it had). */
  async restart(index: number): Promise<void> {
    const m = this.member(index);
    if (m.process && m.process.exitCode === null && m.process.signalCode === null) throw new Error(`${m.name} is still running`);
    this.spawnMember(m);
    await this.waitHealthy(m);
  }

  /** Starts every member that is not running, and waits for all to be healthy. */
  async restartAll(): Promise<void> {
    for (const m of this.members) if (!this.running(m)) this.spawnMember(m);
    await Promise.all(this.members.map((m) => this.waitHealthy(m)));
  }

  /** SIGKILL (no goodbye to the peers) or SIGTERM (a clean stop), then waits for the exit. */
  async stop(index: number, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    const m = this.member(index);
    const child = m.process;
    if (!child || !this.running(m)) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGCONT');
    child.kill(signal);
    await exited;
  }

  async stopAll(signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.stop(i, signal)));
  }

  /** Freezes a member (SIGSTOP): it holds its sockets but answers nothing, like a hung host. */
  freeze(index: number): void {
    this.member(index).process?.kill('SIGSTOP');
  }

  thaw(index: number): void {
    this.member(index).process?.kill('SIGCONT');
  }

  /** Stops everything and removes the data dirs. */
  async destroy(): Promise<void> {
    await this.stopAll();
    for (const m of this.members) removeDir(m.dataDir);
  }

  /** True when the member answers its /health endpoint with health "true". */
  async healthy(index: number): Promise<boolean> {
    return isHealthy(this.member(index).clientUrl, this.options.tls);
  }

  describe(): string {
    return this.members.map((m) => `--- ${m.name} (${m.clientUrl})\n${m.log.slice(-3000)}`).join('\n');
  }

  private member(index: number): EtcdMember {
    const m = this.members[index];
    if (!m) throw new Error(`no etcd member ${index}`);
    return m;
  }

  private running(m: EtcdMember): boolean {
    return m.process !== undefined && m.process.exitCode === null && m.process.signalCode === null;
  }

  private spawnMember(m: EtcdMember): void {
    const initialCluster = this.members.map((x) => `${x.name}=${x.peerUrl}`).join(',');
    const child = spawn(
      'etcd',
      [
        '--name', m.name,
        '--data-dir', m.dataDir,
        '--listen-client-urls', m.clientUrl,
        '--advertise-client-urls', m.clientUrl,
        '--listen-peer-urls', m.peerUrl,
        '--initial-advertise-peer-urls', m.peerUrl,
        '--initial-cluster', initialCluster,
        '--initial-cluster-token', this.token,
        '--initial-cluster-state', 'new',
        // Short Raft timings: a lost leader is replaced in about a second, not five.
        '--heartbeat-interval', '100',
        '--election-timeout', '1000',
        '--log-outputs', 'stderr',
        '--logger', 'zap',
        ...(this.options.tls
          ? ['--cert-file', this.options.tls.cert, '--key-file', this.options.tls.key, '--client-cert-auth', '--trusted-ca-file', this.options.tls.clientCa]
          : []),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    m.process = child;
    child.stderr?.on('data', (d: Buffer) => {
      m.log = (m.log + d.toString()).slice(-20_000);
    });
  }

  private async waitHealthy(m: EtcdMember, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running(m)) throw new Error(`etcd ${m.name} exited\n${m.log.slice(-3000)}`);
      if (await isHealthy(m.clientUrl, this.options.tls)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`etcd ${m.name} not healthy after ${timeoutMs} ms\n${this.describe()}`);
  }
}

async function isHealthy(clientUrl: string, tls?: EtcdClusterOptions['tls']): Promise<boolean> {
  if (tls) return isHealthyOverTls(clientUrl, tls);
  try {
    const response = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

/** /health with a client certificate (etcd with --client-cert-auth refuses any other). */
function isHealthyOverTls(clientUrl: string, tls: NonNullable<EtcdClusterOptions['tls']>): Promise<boolean> {
  return new Promise((done) => {
    const req = request(`${clientUrl}/health`, { ca: readFileSync(tls.ca), cert: readFileSync(tls.clientCert), key: readFileSync(tls.clientKey), timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => done(/"health":\s*"true"/.test(body)));
    });
    req.on('error', () => done(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** A started cluster; the caller destroys it in `afterAll`. */
export async function startEtcdCluster(hosts: readonly string[], tls?: EtcdClusterOptions['tls']): Promise<EtcdCluster> {
  const cluster = new EtcdCluster({ hosts, ...(tls ? { tls } : {}) });
  try {
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}
