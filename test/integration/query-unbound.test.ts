import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BindSignedZone, type RunningServer, haveTool, removeDir, signZoneWithBind, startNsd, startUnbound } from '../support/external-servers.js';

const run = promisify(execFile);
const CLI = 'dist/cli/main.js';
const AUTH = '127.10.2.1';
const RESOLVER = '127.10.2.2';

const ZONE = `$TTL 300
example.      IN SOA ns.example. hostmaster.example. 1 3600 900 604800 300
example.      IN NS  ns.example.
ns.example.   IN A   ${AUTH}
www.example.  IN A   192.0.2.80
www.example.  IN AAAA 2001:db8::80
`;

const tools = ['nsd', 'unbound', 'dnssec-signzone'].every(haveTool);

describe.skipIf(!tools)('keymaster query against Unbound validating a BIND-signed zone on loopback', () => {
  let signed: BindSignedZone;
  let nsd: RunningServer;
  let unbound: RunningServer;

  beforeAll(async () => {
    signed = signZoneWithBind('example.', ZONE, 'ECDSAP256SHA256');
    nsd = await startNsd(AUTH, 53, { 'example.': signed.signedFile });
    unbound = await startUnbound(RESOLVER, 53, { stubs: { 'example.': `${AUTH}@53` }, trustAnchors: signed.dsset });
  });

  afterAll(async () => {
    await unbound?.stop();
    await nsd?.stop();
    if (signed) removeDir(signed.dir);
  });

  it('shows the RRSIG and the AD flag with --dnssec', async () => {
    const { stdout } = await run('node', [CLI, 'query', 'www.example', '--server', RESOLVER, '--dnssec']);
    expect(stdout).toMatch(/status: NOERROR/);
    expect(stdout).toMatch(/;; flags: qr rd ra ad;/);
    expect(stdout).toMatch(/^www\.example\.\t\d+\tIN\tA\t192\.0\.2\.80$/m);
    expect(stdout).toMatch(/^www\.example\.\t\d+\tIN\tRRSIG\tA 13 2 300 \d{14} \d{14} \d+ example\. \S+$/m);
    expect(stdout).toMatch(/; EDNS: version: 0, flags: do; udp: \d+/);
  });

  it('prints JSON for scripts and sends CD', async () => {
    const { stdout } = await run('node', [CLI, 'query', 'www.example', 'AAAA', '--server', `${RESOLVER}:53`, '--dnssec', '--cd', '--json']);
    const out = JSON.parse(stdout);
    expect(out.status).toBe('NOERROR');
    expect(out.flags.cd).toBe(true);
    expect(out.flags.qr).toBe(true);
    expect(out.edns.do).toBe(true);
    expect(out.answer.map((r: { type: string }) => r.type).sort()).toEqual(['AAAA', 'RRSIG']);
    expect(out.answer.find((r: { type: string }) => r.type === 'AAAA').data).toBe('2001:db8::80');
  });

  it('asks over TCP with --tcp and reports NXDOMAIN with its proof', async () => {
    const { stdout } = await run('node', [CLI, 'query', 'nope.example', '--server', RESOLVER, '--dnssec', '--tcp']);
    expect(stdout).toMatch(/status: NXDOMAIN/);
    expect(stdout).toMatch(/SERVER: 127\.10\.2\.2#53\(TCP\)/);
    expect(stdout).toMatch(/\tNSEC\t/);
    expect(stdout).toMatch(/ad;/);
  });

  it('without --dnssec there are no RRSIGs but AD still comes back (RFC 6840 §5.7: AD set in the query)', async () => {
    const { stdout } = await run('node', [CLI, 'query', 'www.example', '--server', RESOLVER]);
    expect(stdout).not.toMatch(/RRSIG/);
    expect(stdout).toMatch(/flags: qr rd ra ad;/);
  });
});
