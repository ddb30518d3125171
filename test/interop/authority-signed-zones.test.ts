import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type KeymasterServer,
  type RunningServer,
  haveTool,
  removeDir,
  startKeymaster,
  startNsdSecondary,
  startUnbound,
  tempDir,
} from '../support/external-servers.js';

/**
 * Zones signed by Keymaster as their Key Master, checked by independent implementations:
 * an AXFR of each passes ldns-verify-zone and dnssec-verify; Unbound and delv, given only our
 * dsset- file as trust anchor, validate positive answers, NXDOMAIN, NODATA, wildcards and
 * CNAMEs (AD); NSD as a secondary takes the zones by AXFR and Unbound validates them there too.
 * Loopback 127.10.50.0/24: Keymaster .20, Unbound .21 (at Keymaster) and .23 (at NSD), NSD .22.
 */

const KEYMASTER = '127.10.50.20';
const UNBOUND = '127.10.50.21';
const NSD = '127.10.50.22';
const UNBOUND_NSD = '127.10.50.23';
/** Where dig transfers from: inside the zones' allowTransfer. */
const XFR_CLIENT = '127.10.50.24';

interface TestZone {
  readonly name: string;
  readonly signing: string;
  readonly optOut?: boolean;
}

const ZONES: readonly TestZone[] = [
  { name: 'nsec13.example.', signing: '{ algorithm: ECDSAP256SHA256, denial: nsec }' },
  { name: 'nsec3-8.example.', signing: '{ algorithm: RSASHA256, denial: nsec3 }' },
  { name: 'optout14.example.', signing: '{ algorithm: ECDSAP384SHA384, denial: nsec3, nsec3: { optOut: true } }', optOut: true },
  { name: 'salted15.example.', signing: '{ algorithm: ED25519, denial: nsec3, nsec3: { saltLength: 8 }, rfc5011: false }' },
];

function zoneText(zone: string): string {
  return `$ORIGIN ${zone}
$TTL 3600
@          IN SOA  ns1 hostmaster 1 7200 900 1209600 300
@          IN NS   ns1
@          IN MX   10 mail
ns1        IN A    192.0.2.1
mail       IN A    192.0.2.25
www        IN A    192.0.2.80
www        IN AAAA 2001:db8::80
alias      IN CNAME www
*.wild     IN TXT  "wildcard"
a.b.c.deep IN TXT  "empty non-terminals above"
secure     IN NS   ns.secure
secure     IN DS   60485 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118AAAAAAAAAAAAAAAAAAAAAAAA
ns.secure  IN A    192.0.2.53
insecure   IN NS   ns.insecure
ns.insecure IN A   192.0.2.54
x.only-insecure IN NS ns.example.net.
`;
}

const tools = ['unbound', 'nsd', 'dig', 'delv', 'ldns-verify-zone', 'dnssec-verify'].every(haveTool);

interface DigResult {
  readonly status: string;
  readonly flags: string[];
  readonly answer: string[];
}

function dig(server: string, name: string, type: string, extra: string[] = []): DigResult {
  const out = execFileSync('dig', [`@${server}`, name, type, '+dnssec', '+noall', '+comments', '+answer', '+tries=1', '+time=5', ...extra], { encoding: 'utf8' });
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'NONE';
  const flags = /;; flags: ([a-z ]+);/.exec(out)?.[1]?.trim().split(/\s+/) ?? [];
  const answer = out.split('\n').filter((l) => l && !l.startsWith(';'));
  return { status, flags, answer };
}

describe.skipIf(!tools)('zones signed by Keymaster, checked by BIND, ldns, Unbound, delv and NSD', () => {
  let keymaster: KeymasterServer;
  let unbound: RunningServer;
  let nsd: RunningServer;
  let unboundAtNsd: RunningServer;
  const dir = tempDir('authority-interop');
  const dsLines: string[] = [];

  beforeAll(async () => {
    const zoneYaml = ZONES.map((z) => {
      const file = join(dir, `${z.name}zone`);
      writeFileSync(file, zoneText(z.name));
      return `  - name: ${z.name}\n    file: ${JSON.stringify(file)}\n    allowTransfer: ["127.10.50.0/24"]\n    signing: ${z.signing}\n`;
    }).join('');
    keymaster = await startKeymaster({ address: KEYMASTER, control: `${KEYMASTER}:5380`, rootHints: 'builtin', extraYaml: `zones:\n${zoneYaml}` });
    for (const z of ZONES) dsLines.push(...readFileSync(join(keymaster.stateDir, `dsset-${z.name}`), 'utf8').split('\n').filter(Boolean));
    const stubs = (addr: string) => Object.fromEntries(ZONES.map((z) => [z.name, `${addr}@53`]));
    unbound = await startUnbound(UNBOUND, 53, { stubs: stubs(KEYMASTER), trustAnchors: dsLines });
    nsd = await startNsdSecondary(NSD, 53, Object.fromEntries(ZONES.map((z) => [z.name, `${KEYMASTER}@53`])));
    unboundAtNsd = await startUnbound(UNBOUND_NSD, 53, { stubs: stubs(NSD), trustAnchors: dsLines });
  });

  afterAll(async () => {
    await Promise.all([unbound?.stop(), nsd?.stop(), unboundAtNsd?.stop(), keymaster?.stop()]);
    removeDir(dir);
  });

  for (const z of ZONES) {
    it(`${z.name}: the AXFR passes dnssec-verify and ldns-verify-zone`, () => {
      const axfr = execFileSync('dig', ['-b', XFR_CLIENT, `@${KEYMASTER}`, z.name, 'AXFR', '+onesoa', '+noall', '+answer'], { encoding: 'latin1' });
      const file = join(dir, `${z.name}axfr`);
      writeFileSync(file, axfr, 'latin1');
      expect(axfr).toMatch(/\sDNSKEY\s/);
      expect(axfr).toMatch(z.signing.includes('nsec3') ? /\sNSEC3PARAM\s/ : /\sNSEC\s/);
      const bind = spawnSync('dnssec-verify', ['-o', z.name, file], { encoding: 'utf8' });
      expect(bind.stdout + bind.stderr).toMatch(/Zone fully signed/);
      expect(bind.status).toBe(0);
      const ldns = spawnSync('ldns-verify-zone', [file], { encoding: 'utf8' });
      expect(ldns.stdout + ldns.stderr).toMatch(/Zone is verified and complete/);
      expect(ldns.status).toBe(0);
    });
  }

  for (const [label, server] of [['Unbound at Keymaster', UNBOUND], ['Unbound at an NSD secondary', UNBOUND_NSD]] as const) {
    for (const z of ZONES) {
      it(`${label}, ${z.name}: AD on data, CNAME, wildcard, NODATA and NXDOMAIN`, () => {
        const secure = (name: string, type: string, status: string) => {
          const r = dig(server, `${name}${z.name}`, type);
          expect({ q: `${name}${z.name} ${type}`, status: r.status, ad: r.flags.includes('ad') }).toEqual({ q: `${name}${z.name} ${type}`, status, ad: true });
          return r;
        };
        expect(secure('www.', 'A', 'NOERROR').answer.join('\n')).toMatch(/192\.0\.2\.80/);
        expect(secure('alias.', 'AAAA', 'NOERROR').answer.join('\n')).toMatch(/CNAME[\s\S]*2001:db8::80/);
        expect(secure('', 'DNSKEY', 'NOERROR').answer.filter((l) => /\sIN\s+DNSKEY\s/.test(l))).toHaveLength(z.signing.includes('rfc5011: false') ? 2 : 4);
        secure('www.', 'MX', 'NOERROR');
        secure('c.deep.', 'A', 'NOERROR');
        expect(secure('secure.', 'DS', 'NOERROR').answer.join('\n')).toMatch(/60485 13 2/);
        if (z.optOut) {
          // Opt-Out proofs make NXDOMAIN and an unsigned delegation's missing DS insecure
          // (RFC 5155 §9.2): validated, answered, but without AD.
          // So do wildcard answers and wildcard NODATA, whose proofs are Opt-Out NSEC3s covering the name.
          for (const [name, type, status] of [['nope.', 'A', 'NXDOMAIN'], ['insecure.', 'DS', 'NOERROR'], ['host.wild.', 'TXT', 'NOERROR'], ['host.wild.', 'A', 'NOERROR']] as const) {
            const r = dig(server, `${name}${z.name}`, type);
            expect({ status: r.status, ad: r.flags.includes('ad') }).toEqual({ status, ad: false });
          }
        } else {
          secure('nope.', 'A', 'NXDOMAIN');
          secure('deeper.nope.', 'A', 'NXDOMAIN');
          secure('insecure.', 'DS', 'NOERROR');
          expect(secure('host.wild.', 'TXT', 'NOERROR').answer.join('\n')).toMatch(/"wildcard"/);
          secure('host.wild.', 'A', 'NOERROR');
        }
      });
    }
  }

  it('delv, with the dsset- file as its trust anchor, fully validates answers, NODATA and NXDOMAIN', () => {
    for (const z of ZONES) {
      const ds = readFileSync(join(keymaster.stateDir, `dsset-${z.name}`), 'utf8').split('\n').filter(Boolean)[0]!.split(/\s+/);
      const anchors = join(dir, `anchors-${z.name}conf`);
      writeFileSync(anchors, `trust-anchors { ${z.name} static-ds ${ds[4]} ${ds[5]} ${ds[6]} "${ds[7]}"; };\n`);
      const delv = (name: string, type: string) =>
        spawnSync('delv', [`@${KEYMASTER}`, '-a', anchors, `+root=${z.name}`, `${name}${z.name}`, type], { encoding: 'utf8' }).stdout;
      expect(delv('www.', 'A')).toMatch(/; fully validated\n.*192\.0\.2\.80/);
      expect(delv('www.', 'TXT')).toMatch(/negative response, fully validated/);
      expect(delv('c.deep.', 'A')).toMatch(/negative response, fully validated/);
      if (z.optOut) continue; // Opt-Out: NXDOMAIN and wildcard proofs are insecure (RFC 5155 §9.2)
      expect(delv('host.wild.', 'TXT')).toMatch(/; fully validated/);
      expect(delv('nope.', 'A')).toMatch(/negative response, fully validated/);
    }
  });
});
