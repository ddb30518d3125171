import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, haveTool, removeDir, runKeymasterCli, startKeymaster, udpExchangeRaw, waitForDns } from '../support/external-servers.js';

/**
 * `keymaster zone ...` against a running server (loopback 127.10.50.30-39): the sample zone
 * signed at start, transfers only to allowed addresses, keys and export-keys, adding and
 * signing a zone, bad zone files, unknown algorithms and unwritable key directories changing
 * nothing, the Key Master of a file-backed zone, unsign, and a restart that keeps the keys.
 */

const SERVER = '127.10.50.31';
const ALLOWED = '127.10.50.30';
const SAMPLE = resolve('config/zones/home.arpa.zone');

function dig(args: string[]): string {
  try {
    return execFileSync('dig', [`@${SERVER}`, '+tries=1', '+time=5', ...args], { encoding: 'utf8' });
  } catch (error) {
    // dig exits non-zero on a timeout; what it printed is still the answer (none).
    return String((error as { stdout?: unknown }).stdout ?? '');
  }
}

const events = (log: string, name: string) => log.split('\n').filter((l) => l.includes(`"event":"${name}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);

describe.skipIf(!haveTool('dig'))('keymaster zone commands', () => {
  let km: KeymasterServer;
  let restarted: ChildProcess | undefined;
  let work: string;

  beforeAll(async () => {
    km = await startKeymaster({
      address: SERVER,
      control: `${SERVER}:5380`,
      rootHints: 'builtin',
      extraYaml: `zones:\n  - name: home.arpa.\n    file: ${JSON.stringify(SAMPLE)}\n    allowTransfer: ["${ALLOWED}/32"]\n    signing: defaults\n`,
    });
    work = join(km.stateDir, 'zones'); // the default zones directory: zone add reads files from there only
    mkdirSync(work, { recursive: true });
  });

  afterAll(async () => {
    if (restarted && restarted.exitCode === null) {
      restarted.kill('SIGTERM');
      await new Promise((r) => restarted!.once('exit', r));
      removeDir(km.dir);
    } else await km?.stop();
  });

  it('serves the sample zone signed, AA and no AD, to any client', () => {
    const out = dig(['www.home.arpa.', 'A', '+dnssec', '-b', ALLOWED]);
    expect(out).toMatch(/flags: qr aa rd ra;/);
    expect(out).toMatch(/www\.home\.arpa\.\s+3600\s+IN\s+A\s+192\.168\.1\.10/);
    expect(out).toMatch(/www\.home\.arpa\.\s+3600\s+IN\s+RRSIG\s+A 13 3 3600/);
    expect(dig(['nope.home.arpa.', 'A', '+dnssec'])).toMatch(/status: NXDOMAIN[\s\S]*IN\s+NSEC3\s+1 0 0 -/);
    const started = events(km.log(), 'zone.signing-started');
    const signed = events(km.log(), 'zone.signed');
    expect(started[0]).toMatchObject({ eventId: 7650, zone: 'home.arpa.' });
    expect(signed[0]).toMatchObject({ eventId: 7646, zone: 'home.arpa.' });
  });

  it('transfers only to allowTransfer addresses, and only over TCP', async () => {
    expect(dig(['-b', ALLOWED, 'home.arpa.', 'AXFR'])).toMatch(/XFR size: \d+ records/);
    expect(dig(['-b', SERVER, 'home.arpa.', 'AXFR'])).toMatch(/Transfer failed/);
    const query = encodeMessage(newMessage({ id: 7, question: [{ name: Name.parse('home.arpa.'), type: RRType.AXFR, class: 1 }] }));
    const overUdp = await udpExchangeRaw({ host: SERVER, port: 53 }, query, { source: ALLOWED });
    expect(decodeMessage(overUdp!)).toMatchObject({ id: 7, rcode: Rcode.REFUSED, answer: [] });
    expect(events(km.log(), 'zone.transfer-refused')[0]).toMatchObject({ zone: 'home.arpa.', client: SERVER });
  });

  it('lists zones and keys like Get-DnsServerSigningKey, never a private key', async () => {
    const list = await km.cli(['zone', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^ZoneName\s+IsSigned\s+Denial/);
    expect(list.stdout).toMatch(/home\.arpa\.\s+True\s+NSEC3/);
    const keys = await km.cli(['zone', 'keys', 'home.arpa']);
    expect(keys.code).toBe(0);
    // Within 120 columns by default: key tag, the KeyId's first characters, KSK/ZSK, state.
    expect(keys.stdout).toMatch(/KSK\s+Active/);
    expect(keys.stdout).toMatch(/KSK\s+Standby/);
    expect(keys.stdout).toMatch(/ZSK\s+Active/);
    expect(keys.stdout).toMatch(/ZSK\s+Next/);
    expect(Math.max(...keys.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(120);
    expect((await km.cli(['zone', 'keys', 'home.arpa', '--wide'])).stdout).toMatch(/KeySigningKey\s+Active/);
    // One server is the Key Master of its zones: the table says so above the keys, the JSON beside them.
    expect(keys.stdout.split('\n')[0]).toBe(`KeyMasterServer: ${hostname()} (this server)`);
    const json = await km.cli(['zone', 'keys', 'home.arpa.', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ zone: 'home.arpa.', keyMaster: hostname(), isThisServer: true });
    expect(JSON.parse(json.stdout).keys).toHaveLength(4);
    expect(json.stdout + keys.stdout + km.log()).not.toMatch(/PRIVATE KEY/);
  });

  it('export-keys prints the dsset- and keyset- files it wrote to the state dir', async () => {
    const out = await km.cli(['zone', 'export-keys', 'home.arpa.']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(readFileSync(join(km.stateDir, 'dsset-home.arpa.'), 'utf8'));
    expect(out.stdout).toContain(readFileSync(join(km.stateDir, 'keyset-home.arpa.'), 'utf8'));
    const sha384 = await km.cli(['zone', 'export-keys', 'home.arpa.', '--digest', 'sha384']);
    expect(sha384.stdout).toMatch(/IN DS \d+ 13 4 [0-9A-F]{96}\n/);
    expect((await km.cli(['zone', 'export-keys', 'home.arpa.', '--digest', 'md5'])).code).toBe(2);
  });

  it('a bad zone file is refused with its file and line, and nothing changes', async () => {
    const bad = join(work, 'bad.zone');
    writeFileSync(bad, '$TTL 300\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nwww A 192.0.2.300\n');
    const add = await km.cli(['zone', 'add', 'bad.example.', '--file', bad]);
    expect(add.code).toBe(1);
    expect(add.stderr).toContain(`${bad}:4:`);
    const noSoa = join(work, 'nosoa.zone');
    writeFileSync(noSoa, '$TTL 300\n@ NS ns\n');
    expect((await km.cli(['zone', 'add', 'nosoa.example.', '--file', noSoa])).stderr).toMatch(/no SOA record at the apex nosoa\.example\./);
    expect((await km.cli(['zone', 'list', '--json'])).stdout).not.toMatch(/bad\.example|nosoa\.example/);
    expect(dig(['www.bad.example.', 'A', '-b', '127.10.50.39'])).not.toMatch(/flags: qr aa/);
  });

  it('adds a zone, refuses an unknown algorithm and an unwritable key dir without change, then signs it with NSEC', async () => {
    const file = join(work, 'lab.example.zone');
    writeFileSync(file, '$TTL 300\n@ SOA ns h 7 3600 900 604800 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.80\n');
    const add = await km.cli(['zone', 'add', 'lab.example', '--file', file]);
    expect(add.code, add.stderr).toBe(0);
    expect(dig(['www.lab.example.', 'A', '+dnssec'])).toMatch(/flags: qr aa[\s\S]*192\.0\.2\.80/);

    const gost = await km.cli(['zone', 'sign', 'lab.example.', '--algorithm', 'GOST']);
    expect(gost.code).toBe(1);
    expect(gost.stderr).toMatch(/unknown or unsupported DNSSEC algorithm "GOST"/);

    mkdirSync(join(km.stateDir, 'keys'), { recursive: true });
    writeFileSync(join(km.stateDir, 'keys', 'lab.example'), 'in the way');
    const blocked = await km.cli(['zone', 'sign', 'lab.example.', '--nsec']);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain(join(km.stateDir, 'keys', 'lab.example'));
    expect(blocked.stderr).toMatch(/nothing changed/);
    expect(dig(['lab.example.', 'DNSKEY'])).toMatch(/ANSWER: 0/);
    execFileSync('rm', [join(km.stateDir, 'keys', 'lab.example')]);

    const moved = await km.cli(['zone', 'key-master', 'lab.example.', 'dc2.corp.example']);
    expect(moved.code).toBe(1);
    expect(moved.stderr).toMatch(/file-backed.*cannot be moved to dc2\.corp\.example/);

    const signed = await km.cli(['zone', 'sign', 'lab.example.', '--nsec', '--algorithm', 'ED25519', '--no-rfc5011']);
    expect(signed.code, signed.stderr).toBe(0);
    expect(signed.stdout).toMatch(/DenialOfExistence\s+: NSEC/);
    expect(dig(['nope.lab.example.', 'A', '+dnssec'])).toMatch(/status: NXDOMAIN[\s\S]*IN\s+NSEC\s/);
    expect(dig(['lab.example.', 'DNSKEY', '+short']).trim().split('\n')).toHaveLength(2);

    const like = await km.cli(['zone', 'show', 'lab.example.', '--json']);
    expect(JSON.parse(like.stdout).policy).toMatchObject({ algorithm: 15, denial: 'nsec', rfc5011: false });
  });

  it('unsign withdraws the DS first and keeps the zone signed (776); --now removes every DNSSEC record and logs 7647', async () => {
    // lab.example. has no parent that answers: the DS is asked away (CDS delete signal) and the zone stays signed meanwhile.
    const safe = await km.cli(['zone', 'unsign', 'lab.example.']);
    expect(safe.code, safe.stderr).toBe(0);
    expect(safe.stdout).toMatch(/Unsigning zone lab\.example\./);
    expect(dig(['lab.example.', 'DNSKEY'])).not.toMatch(/ANSWER: 0/);
    expect(dig(['lab.example.', 'CDS'])).toMatch(/CDS\s+0 0 0 00/);
    expect(events(km.log(), 'zone.unsign-started')[0]).toMatchObject({ eventId: 776, zone: 'lab.example.' });
    expect((await km.cli(['zone', 'show', 'lab.example.'])).stdout).toMatch(/UnsignStage\s+: WithdrawingDS/);
    const out = await km.cli(['zone', 'unsign', 'lab.example.', '--now']);
    expect(out.code, out.stderr).toBe(0);
    expect(dig(['lab.example.', 'DNSKEY'])).toMatch(/ANSWER: 0/);
    expect(dig(['www.lab.example.', 'A', '+dnssec'])).not.toMatch(/RRSIG/);
    expect(events(km.log(), 'zone.unsigned')[0]).toMatchObject({ eventId: 7647, zone: 'lab.example.' });
  });

  it('a restart serves the same zones with the same keys (none generated)', async () => {
    const before = JSON.parse((await km.cli(['zone', 'keys', 'home.arpa.', '--json'])).stdout).keys.map((k: { keyId: string }) => k.keyId).sort();
    km.child.kill('SIGTERM');
    await new Promise((r) => km.child.once('exit', r));
    restarted = spawn('node', [resolve('dist/cli/main.js'), 'serve', '--config', km.configFile], { cwd: km.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    restarted.stdout!.on('data', (d) => (log += d));
    await waitForDns(SERVER, 53, 'home.arpa.', restarted);
    await new Promise((r) => setTimeout(r, 300));
    const after = await runKeymasterCli(['zone', 'keys', 'home.arpa.', '--json', '--config', km.configFile]);
    expect(JSON.parse(after.stdout).keys.map((k: { keyId: string }) => k.keyId).sort()).toEqual(before);
    expect(log).not.toContain('"zone.keys-generated"');
    const list = JSON.parse((await runKeymasterCli(['zone', 'list', '--json', '--config', km.configFile])).stdout).zones;
    expect(list.map((z: { name: string; signed: boolean }) => [z.name, z.signed])).toEqual([['home.arpa.', true], ['lab.example.', false]]);
    expect(dig(['www.home.arpa.', 'A', '+dnssec'])).toMatch(/RRSIG\s+A 13 3/);
  });
});
