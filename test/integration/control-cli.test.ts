import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve('dist/cli/main.js');
const HOST = '127.10.0.5';
const VERSION = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;

type ReplyBody = { error: { code: string; message: string; details?: unknown }; pid?: number };

/** The parsed JSON body of a control API reply. */
async function bodyOf(res: Response): Promise<ReplyBody> {
  return (await res.json()) as ReplyBody;
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `keymaster ARGS` to completion; never rejects on a non-zero exit. */
function keymaster(args: readonly string[]): Promise<CliResult> {
  return new Promise((done) => {
    execFile('node', [CLI, ...args], { timeout: 30_000 }, (error, stdout, stderr) =>
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

/** A port free on HOST right now (the server binds it exclusively, so a clash fails loudly). */
async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, HOST);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

type LogLine = Record<string, unknown> & { event?: string };

/** `keymaster serve` as a child process, its stdout parsed as JSON log lines. */
class ServeProcess {
  readonly logs: LogLine[] = [];
  readonly stderr: string[] = [];
  private readonly waiters: { event: string; resolve: (line: LogLine) => void }[] = [];
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as LogLine;
      this.logs.push(line);
      for (const waiter of this.waiters.filter((w) => w.event === line.event)) waiter.resolve(line);
    });
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
    this.exited = once(child, 'exit').then(([code]) => code as number | null);
  }

  /** Resolves with the first log line with this event; rejects if the process exits first. */
  waitFor(event: string): Promise<LogLine> {
    const seen = this.logs.find((l) => l.event === event);
    if (seen) return Promise.resolve(seen);
    return Promise.race([
      new Promise<LogLine>((resolve) => this.waiters.push({ event, resolve })),
      this.exited.then((code) => {
        throw new Error(`serve exited with ${code} before "${event}": ${this.stderr.join('')}`);
      }),
    ]);
  }
}

describe('keymaster serve + status over the control API', () => {
  let dir: string;
  let configFile: string;
  let stateDir: string;
  let control: string;
  let server: ServeProcess;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keymaster-control-'));
    stateDir = join(dir, 'state');
    configFile = join(dir, 'keymaster.yaml');
    control = `${HOST}:${await freePort()}`;
    await writeFile(
      configFile,
      `# test config\nlisten: ["${HOST}:5300"]\nstateDir: ${stateDir}\ncontrol: "${control}"\nlog: { level: debug }\n`,
    );
    server = new ServeProcess(
      spawn('node', [CLI, 'serve', '--config', configFile, '--control', control], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    await server.waitFor('server.started');
  });

  afterAll(async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('logs server.started as a JSON line with the listeners, config file and state dir', async () => {
    const started = await server.waitFor('server.started');
    expect(started).toMatchObject({
      level: 'info',
      pid: server.child.pid,
      version: VERSION,
      configFile,
      stateDir,
      listeners: [
        { purpose: 'control', protocol: 'http', address: control },
        { purpose: 'dns', protocol: 'udp', address: `${HOST}:5300` },
        { purpose: 'dns', protocol: 'tcp', address: `${HOST}:5300` },
      ],
    });
    expect(Date.parse(started['time'] as string)).not.toBeNaN();
    expect(server.logs.find((l) => l.event === 'control.token-created')).toMatchObject({ path: join(stateDir, 'control.token') });
  });

  it('writes a random 32-byte token, mode 0600, in a 0700 state dir', async () => {
    const token = (await readFile(join(stateDir, 'control.token'), 'utf8')).trim();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(join(stateDir, 'control.token'))).mode & 0o777).toBe(0o600);
    expect((await stat(stateDir)).mode & 0o777).toBe(0o700);
  });

  it('status prints an aligned table for people', async () => {
    const { code, stdout, stderr } = await keymaster(['status', '--config', configFile]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`Version     : ${VERSION}\n`);
    expect(stdout).toContain(`PID         : ${server.child.pid}\n`);
    expect(stdout).toContain(`Config file : ${configFile}\n`);
    expect(stdout).toContain(`State dir   : ${stateDir}\n`);
    expect(stdout).toMatch(/^Uptime {6}: (\d+[dhms])+\n/m);
    expect(stdout).toContain(`Purpose  Protocol  Address\n-------  --------  -------\ncontrol  http      ${control}\n`);
  });

  it('status --json prints the raw /v1/status body', async () => {
    const { code, stdout } = await keymaster(['status', '--config', configFile, '--json']);
    expect(code).toBe(0);
    const status = JSON.parse(stdout);
    expect(status).toEqual({
      version: VERSION,
      pid: server.child.pid,
      startedAt: expect.any(String),
      uptimeSeconds: expect.any(Number),
      listeners: [
        { purpose: 'control', protocol: 'http', address: control },
        { purpose: 'dns', protocol: 'udp', address: `${HOST}:5300` },
        { purpose: 'dns', protocol: 'tcp', address: `${HOST}:5300` },
      ],
      configFile,
      stateDir,
      resolver: expect.objectContaining({ queries: 0, cache: expect.objectContaining({ entries: expect.any(Number), maxBytes: 128 * 1024 * 1024 }) }),
      localZones: expect.objectContaining({ enabled: true }),
      // The default `workers` is the number of cores; one is the single process, with no workers.
      ...(availableParallelism() > 1 ? { workers: expect.objectContaining({ configured: availableParallelism(), running: availableParallelism(), restarts: 0 }) } : {}),
      // The default recursion.allow is not open: nothing to warn about.
      warnings: [],
    });
    expect(Date.parse(status.startedAt)).toBeLessThanOrEqual(Date.now());
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('status finds the server with --control and --state-dir instead of --config', async () => {
    const { code, stdout } = await keymaster(['status', '--control', control, '--state-dir', stateDir, '--json']);
    expect(code).toBe(0);
    expect(JSON.parse(stdout).pid).toBe(server.child.pid);
  });

  it('answers 401 without a token or with a wrong one, 200 with the right one, 404 for unknown routes', async () => {
    const token = (await readFile(join(stateDir, 'control.token'), 'utf8')).trim();
    const url = `http://${control}/v1/status`;

    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await bodyOf(anonymous)).error.code).toBe('unauthorized');

    const wrong = await fetch(url, { headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    expect(wrong.status).toBe(401);
    const truncated = await fetch(url, { headers: { authorization: `Bearer ${token.slice(0, 63)}` } });
    expect(truncated.status).toBe(401);
    const basic = await fetch(url, { headers: { authorization: `Basic ${token}` } });
    expect(basic.status).toBe(401);

    const right = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
    expect(right.status).toBe(200);
    expect(right.headers.get('content-type')).toMatch(/^application\/json/);
    expect((await bodyOf(right)).pid).toBe(server.child.pid);

    const unknown = await fetch(`http://${control}/v1/nothing-here`, { headers: { authorization: `Bearer ${token}` } });
    expect(unknown.status).toBe(404);
    expect((await bodyOf(unknown)).error).toEqual({ code: 'not-found', message: 'no route for GET /v1/nothing-here' });

    // Unauthenticated clients cannot tell which routes exist.
    expect((await fetch(`http://${control}/v1/nothing-here`)).status).toBe(401);
  });

  it('a wrong token file makes status fail with a clear message', async () => {
    const otherState = join(dir, 'other-state');
    await rm(otherState, { recursive: true, force: true });
    const missing = await keymaster(['status', '--control', control, '--state-dir', otherState]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`no control token at ${join(otherState, 'control.token')}`);

    await mkdir(otherState, { recursive: true });
    await writeFile(join(otherState, 'control.token'), 'f'.repeat(64));
    const refused = await keymaster(['status', '--control', control, '--state-dir', otherState]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^keymaster status: the server at 127\.10\.0\.5:\d+ refused the control token: bad bearer token\n$/);
  });

  it('status says so when no server is running at the address', async () => {
    const { code, stdout, stderr } = await keymaster(['status', '--control', `${HOST}:${await freePort()}`, '--state-dir', stateDir]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/no Keymaster server is running at 127\.10\.0\.5:\d+ \(connection refused\); start one with "keymaster serve"/);
  });

  it('stops cleanly on SIGTERM, logging server.stopped, and then status reports it is not running', async () => {
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.logs.map((l) => l.event)).toEqual(expect.arrayContaining(['server.stopping', 'server.stopped']));
    expect(server.logs.find((l) => l.event === 'server.stopping')).toMatchObject({ signal: 'SIGTERM' });
    const { code, stderr } = await keymaster(['status', '--config', configFile]);
    expect(code).toBe(1);
    expect(stderr).toContain('no Keymaster server is running');
  });
});

describe('keymaster serve refuses bad start-up input', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keymaster-control-bad-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an invalid config file: exit 1, every error with file, line and key path, nothing started', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, `stateDir: ${join(dir, 'state')}\nrecursion:\n  allow: ["10.0.0.0/8", "10.0.0.0/33"]\ndnssec: { enabel: true }\n`);
    const { code, stdout, stderr } = await keymaster(['serve', '--config', file]);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      `keymaster serve: invalid configuration:\n` +
        `  ${file}:3:25: recursion.allow[1]: "10.0.0.0/33" is not a CIDR prefix (IPv4 prefix length must be 0 to 32)\n` +
        `  ${file}:4:11: dnssec.enabel: unknown key (did you mean "enable"?)\n`,
    );
    await expect(stat(join(dir, 'state'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a non-loopback control address: exit 1, naming the flag', async () => {
    const { code, stderr } = await keymaster(['serve', '--state-dir', join(dir, 'state'), '--control', '0.0.0.0:5380']);
    expect(code).toBe(1);
    expect(stderr).toContain('--control: "0.0.0.0:5380" is not a loopback address');
  });

  it('an unknown flag is a usage error (exit 2)', async () => {
    const { code, stderr } = await keymaster(['serve', '--lisen', `${HOST}:53`]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^keymaster serve: Unknown option '--lisen'/);
    expect(stderr).toContain('Run "keymaster serve --help" for usage.');
  });
});

describe('keymaster verbs and help', () => {
  it('--help lists the verbs, and each verb has its own help', async () => {
    const main = await keymaster(['--help']);
    expect(main.code).toBe(0);
    for (const verb of ['serve', 'query', 'status', 'trust-point', 'trust-anchor', 'policy', 'zone', 'explain', 'cache'])
      expect(main.stdout).toMatch(new RegExp(`^  ${verb} `, 'm'));
    const serve = await keymaster(['serve', '--help']);
    expect(serve.code).toBe(0);
    expect(serve.stdout).toMatch(/^usage: keymaster serve \[--config FILE\] \[--listen ADDR:PORT\]\.\.\./);
    const status = await keymaster(['help', 'status']);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^usage: keymaster status/);
    expect((await keymaster(['--version'])).stdout).toBe(`keymaster ${VERSION}\n`);
  });

  it('every verb of the contract is built: trust-point and trust-anchor have their own help', async () => {
    expect((await keymaster(['--help'])).stdout).not.toContain('[not available yet]');
    for (const verb of ['trust-point', 'trust-anchor']) {
      const { code, stdout } = await keymaster([verb, '--help']);
      expect(code).toBe(0);
      expect(stdout).toMatch(new RegExp(`^usage: keymaster ${verb} list`));
    }
  });

  it('no verb or an unknown verb is a usage error', async () => {
    expect((await keymaster([])).code).toBe(2);
    const unknown = await keymaster(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^keymaster: unknown verb "frobnicate"/);
  });
});
