import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractTsig, signTsig, tsigAlgorithmName } from '../../src/authority/tsig.js';
import { decodeMessage } from '../../src/wire/message-decoder.js';
import { encodeMessage } from '../../src/wire/message-encoder.js';
import { Opcode, Rcode, newMessage } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRClass, RRType } from '../../src/wire/rr-type.js';
import { type KeymasterServer, haveTool, removeDir, startKeymaster, tempDir, udpExchangeRaw } from '../support/external-servers.js';
import { sleep } from '../support/live-rollover.js';
import { type LabTsigKey, type PeerServer, axfrText, soaSerialAt, startKnotPrimary, startNamedPrimary, waitForSerial } from '../support/secondary-servers.js';

/**
 * Keymaster as a secondary on loopback 127.10.171.0/24: of a BIND (named) primary (a config
 * zone) and of a Knot primary (added by `zone add --primary --tsig`, a zone Knot signs itself),
 * TSIG on transfers and NOTIFY. An nsupdate on each primary shows through
 * Keymaster after the NOTIFY (IXFR); the signed zone is served as transferred and verifies; a
 * NOTIFY from elsewhere or unsigned is refused; the zones survive a restart with the primaries down.
 */

const BIND = '127.10.171.1';
const KNOT = '127.10.171.2';
const KM = '127.10.171.3';
const OUTSIDER = '127.10.171.9';
const XFR_KEY: LabTsigKey = { name: 'xfr-key', algorithm: 'hmac-sha256', secret: 'aW5ib3VuZC14ZnIta2V5LWZvci1rZXltYXN0ZXItdGVzdHM=' };
const TSIG = `hmac-sha256:${XFR_KEY.name}:${XFR_KEY.secret}`;

const zoneText = (ns: string) => `$TTL 300
@       IN SOA ns hostmaster 2026120701 3600 600 86400 300
@       IN NS  ns
ns      IN A   ${ns}
www     IN A   192.0.2.1
`;

const tools = ['named', 'knotd', 'knotc', 'nsupdate', 'dig', 'dnssec-verify', 'ip'].every(haveTool);

function nsupdate(server: string, zone: string, script: string): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn('nsupdate', ['-y', TSIG, '-t', '10']);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => done({ code, output }));
    child.stdin.end(`server ${server} 53\nzone ${zone}\n${script}\nsend\n`);
  });
}

/** Polls Keymaster until `name` `type` answers with `expected` in its RDATA (dig +short), or fails after timeoutMs. */
async function waitForRecord(name: string, type: string, expected: string, describe: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = spawnSync('dig', ['+short', '+time=1', '+tries=1', `@${KM}`, name, type], { encoding: 'utf8' }).stdout;
    if (last.includes(expected)) return;
    await sleep(100);
  }
  throw new Error(`Keymaster still answers ${JSON.stringify(last)} for ${name} ${type}\n${describe()}`);
}

describe.skipIf(!tools)('Keymaster as a secondary of BIND and Knot primaries (NOTIFY, IXFR, TSIG)', () => {
  let km: KeymasterServer;
  let named: PeerServer;
  let knot: PeerServer;
  const dir = tempDir('xfr-in');
  const stateDir = join(dir, 'state');
  const logs = () => `--- keymaster ---\n${km?.log().slice(-6000)}\n--- named ---\n${named?.log().slice(-3000)}\n--- knot ---\n${knot?.log().slice(-3000)}`;
  const start = () =>
    startKeymaster({
      address: KM,
      control: '127.10.171.3:5380',
      rootHints: 'builtin',
      stateDir,
      extraYaml:
        `tsigKeys:\n  - { name: ${XFR_KEY.name}, secret: ${XFR_KEY.secret} }\n` +
        `zones:\n  - { name: bind.test., primary: ["${BIND}"], tsig: ${XFR_KEY.name}, allowTransfer: [{ key: ${XFR_KEY.name} }] }\n`,
    });

  beforeAll(async () => {
    named = await startNamedPrimary(BIND, 53, 'bind.test.', zoneText(BIND), XFR_KEY, { host: KM, port: 53 });
    knot = await startKnotPrimary(KNOT, 53, 'knot.test.', zoneText(KNOT), XFR_KEY, { host: KM, port: 53 }, { sign: true });
    km = await start();
  }, 90_000);

  afterAll(async () => {
    await Promise.all([km?.stop(), named?.stop(), knot?.stop()]);
    removeDir(dir);
  });

  it('takes the BIND zone from the config and the Knot zone by `zone add --primary --tsig`', async () => {
    await waitForSerial({ host: KM, port: 53 }, 'bind.test.', 2026120701, logs);
    const add = await km.cli(['zone', 'add', 'knot.test.', '--primary', KNOT, '--tsig', XFR_KEY.name, '--allow-transfer', '127.0.0.0/8']);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/Added secondary zone knot\.test\. from 127\.10\.171\.2#53: serial \d+, \d+ names, signed as transferred/);
    const list = JSON.parse((await km.cli(['zone', 'list', '--json'])).stdout) as { zones: { name: string; type?: string; state?: string; serial: number; lastRefresh?: string }[] };
    for (const name of ['bind.test.', 'knot.test.']) {
      const z = list.zones.find((x) => x.name === name)!;
      expect(z).toMatchObject({ type: 'secondary', state: 'ok' });
      expect(z.lastRefresh).toMatch(/^\d{4}-/);
    }
    const table = (await km.cli(['zone', 'list'])).stdout;
    expect(table).toMatch(/knot\.test\.\s+True\s+-\s+\d+\s+\d+\s+-\s+added\s+Secondary\s+ok\s+\d{4}-/);
    const show = (await km.cli(['zone', 'show', 'knot.test.'])).stdout;
    expect(show).toMatch(/ZoneType\s*:\s*Secondary/);
    expect(show).toMatch(/MasterServers\s*:\s*127\.10\.171\.2#53/);
    expect(show).toMatch(/State\s*:\s*ok/);
    expect(show).toMatch(/LastRefresh\s*:\s*\d{4}-/);
    const sign = await km.cli(['zone', 'sign', 'knot.test.']);
    expect(sign.code).not.toBe(0);
    expect(sign.stderr).toMatch(/secondary zone/);
  }, 60_000);

  it('serves the signed zone exactly as transferred: it verifies, and its signatures are Knot\'s bytes', async () => {
    const file = join(dir, 'knot.axfr');
    const ours = axfrText({ host: KM, port: 53 }, 'knot.test.', XFR_KEY);
    writeFileSync(file, ours);
    const verify = spawnSync('dnssec-verify', ['-o', 'knot.test.', file], { encoding: 'utf8' });
    expect(verify.stdout + verify.stderr).toMatch(/Zone fully signed/);
    const theirs = axfrText({ host: KNOT, port: 53 }, 'knot.test.', XFR_KEY);
    const sigs = (t: string) => t.split('\n').filter((l) => /\sRRSIG\s/.test(l)).map((l) => l.replace(/\s+/g, ' ')).sort();
    expect(sigs(ours).length).toBeGreaterThan(3);
    expect(sigs(ours)).toEqual(sigs(theirs));
    // With DO, answers carry the primary's RRSIGs.
    const www = spawnSync('dig', ['+dnssec', '+norec', `@${KM}`, 'www.knot.test.', 'A'], { encoding: 'utf8' }).stdout;
    expect(www).toMatch(/flags: qr aa/);
    expect(www).toMatch(/RRSIG\s+A 13 3 300/);
    expect(sigs(ours).join('\n')).not.toMatch(/Keymaster/);
  });

  it('an nsupdate on each primary is visible through Keymaster after its NOTIFY, by IXFR', async () => {
    for (const [server, zone] of [[BIND, 'bind.test.'], [KNOT, 'knot.test.']] as const) {
      const r = await nsupdate(server, zone, `update add fresh.${zone} 300 TXT "from the primary"`);
      expect(r.code, r.output).toBe(0);
      await waitForRecord(`fresh.${zone}`, 'TXT', 'from the primary', logs);
      expect(km.log()).toMatch(new RegExp(`"event":"zone.notify-received","zone":"${zone.replace(/\./g, '\\.')}","client":"${server.replace(/\./g, '\\.')}"`));
      for (let i = 0; i < 20 && !new RegExp(`"event":"zone.secondary-transferred","zone":"${zone.replace(/\./g, '\\.')}"[^\\n]*"type":"IXFR"`).test(km.log()); i++) await sleep(100);
      expect(km.log(), logs()).toMatch(new RegExp(`"event":"zone.secondary-transferred","zone":"${zone.replace(/\./g, '\\.')}"[^\\n]*"type":"IXFR"`));
    }
  }, 60_000);

  it('a NOTIFY from an address that is not a primary, or unsigned, or with a wrong key changes nothing and is refused', async () => {
    const notify = (id: number) => encodeMessage(newMessage({ id, opcode: Opcode.NOTIFY, aa: true, question: [{ name: Name.parse('bind.test.'), type: RRType.SOA, class: RRClass.IN }] }));
    const fromOutsider = await udpExchangeRaw({ host: KM, port: 53 }, notify(1), { source: OUTSIDER });
    expect(decodeMessage(fromOutsider!).rcode).toBe(Rcode.REFUSED);
    const unsigned = await udpExchangeRaw({ host: KM, port: 53 }, notify(2), { source: BIND });
    expect(decodeMessage(unsigned!).rcode).toBe(Rcode.REFUSED);
    const wrongKey = { name: Name.parse(`${XFR_KEY.name}.`), algorithm: tsigAlgorithmName('hmac-sha256'), secret: new Uint8Array(32).fill(7) };
    const badSig = await udpExchangeRaw({ host: KM, port: 53 }, signTsig(notify(3), wrongKey, { now: Math.floor(Date.now() / 1000) }), { source: BIND });
    expect(decodeMessage(extractTsig(badSig!)!.unsigned).rcode).toBe(Rcode.NOTAUTH);
    for (let i = 0; i < 30 && (km.log().match(/"event":"zone.notify-refused"/g) ?? []).length < 3; i++) await sleep(100);
    expect((km.log().match(/"event":"zone.notify-refused"/g) ?? []).length).toBe(3);
  });

  it('secondary zones survive a restart with their primaries down: served from the stored copy', async () => {
    const serials = [await soaSerialAt({ host: KM, port: 53 }, 'bind.test.'), await soaSerialAt({ host: KM, port: 53 }, 'knot.test.')];
    await km.stop();
    await knot.stop();
    await named.stop();
    km = await start();
    expect(await soaSerialAt({ host: KM, port: 53 }, 'bind.test.')).toBe(serials[0]);
    expect(await soaSerialAt({ host: KM, port: 53 }, 'knot.test.')).toBe(serials[1]);
    await waitForRecord('fresh.knot.test.', 'TXT', 'from the primary', logs, 5000);
    expect(km.log()).toMatch(/"event":"zone.secondary-loaded","zone":"knot.test."/);
    for (let i = 0; i < 50 && !km.log().includes('"event":"zone.secondary-refresh-failed"'); i++) await sleep(100);
    expect(km.log()).toMatch(/"event":"zone.secondary-refresh-failed"/);
  }, 60_000);
});
