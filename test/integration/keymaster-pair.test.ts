/**
 * Two Keymaster processes: A hosts and signs corp.test. as its Key Master; B, a validating
 * resolver that forwards .corp.test to A by a policy rule, imports A's keyset- file as a trust
 * anchor with `keymaster trust-anchor import` and then validates A's answers: AD on positive
 * answers, NXDOMAIN and NODATA; SERVFAIL once the anchor no longer matches A's keys.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extendedErrors } from '../../src/wire/edns.js';
import { rcodeToString } from '../../src/wire/message.js';
import { type KeymasterServer, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { askDnssec } from '../support/signed-hierarchy.js';

const A = '127.10.100.1';
const B = '127.10.100.2';
const DEAD_ROOT = '127.10.100.250';

describe('Keymaster validating a zone signed and served by another Keymaster', () => {
  let a: KeymasterServer;
  let b: KeymasterServer;
  let dir: string;

  beforeAll(async () => {
    dir = tempDir('keymaster-pair');
    const zoneFile = join(dir, 'corp.test.zone');
    writeFileSync(zoneFile, [
      '$ORIGIN corp.test.', '$TTL 300',
      '@ SOA ns1 hostmaster 1 3600 600 86400 300', '@ NS ns1', 'ns1 A 127.10.100.1',
      'www A 192.0.2.80', 'www AAAA 2001:db8::80', 'intranet CNAME portal.b.local.', 'mail A 192.0.2.25', '@ MX 10 mail', '*.apps A 192.0.2.99', '',
    ].join('\n'));
    const localZone = join(dir, 'b.local.zone');
    writeFileSync(localZone, ['$ORIGIN b.local.', '$TTL 300', '@ SOA ns hostmaster 1 3600 600 86400 300', '@ NS ns', 'ns A 127.10.100.2', 'portal A 10.0.0.7', ''].join('\n'));
    const hints = join(dir, 'named.root');
    writeFileSync(hints, `. 3600000 NS a.root-servers.test.\na.root-servers.test. 3600000 A ${DEAD_ROOT}\n`);
    a = await startKeymaster({ address: A, control: `${A}:5380`, rootHints: hints, extraYaml: `zones:\n  - name: corp.test.\n    file: ${JSON.stringify(zoneFile)}\n    signing: { distributeTrustAnchor: true }\n` });
    b = await startKeymaster({
      address: B, control: `${B}:5380`, rootHints: hints, validation: true, rootAnchors: 'none',
      extraYaml: `policy:\n  - { namespace: .corp.test, forwarders: ["${A}:53"] }\nzones:\n  - name: b.local.\n    file: ${JSON.stringify(localZone)}\n`,
    });
  });

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    if (dir) removeDir(dir);
  });

  it('without an anchor the zone is insecure; with the imported keyset its answers are secure', async () => {
    const before = await askDnssec({ host: B, port: 53 }, 'www.corp.test.', 'A');
    expect(rcodeToString(before.rcode)).toBe('NOERROR');
    expect(before.ad).toBe(false);

    const imported = await b.cli(['trust-anchor', 'import', '--keyset', join(a.stateDir, 'keyset-corp.test.')]);
    expect(imported.code, imported.stderr).toBe(0);
    await b.cli(['cache', 'flush']);

    for (const [name, type, rcode] of [
      ['www.corp.test.', 'A', 'NOERROR'],
      ['www.corp.test.', 'AAAA', 'NOERROR'],
      ['corp.test.', 'MX', 'NOERROR'],
      ['x.apps.corp.test.', 'A', 'NOERROR'],
      ['nope.corp.test.', 'A', 'NXDOMAIN'],
      ['www.corp.test.', 'TXT', 'NOERROR'],
    ] as const) {
      const r = await askDnssec({ host: B, port: 53 }, name, type);
      expect(`${name} ${type} ${rcodeToString(r.rcode)} ad=${r.ad}`).toBe(`${name} ${type} ${rcode} ad=true`);
    }
    const explain = JSON.parse((await b.cli(['explain', 'www.corp.test.', 'A', '--json'])).stdout) as { security: string; trace: { kind: string; subject: string }[] };
    expect(explain.security).toBe('secure');
    expect(explain.trace[0]).toMatchObject({ kind: 'anchor', subject: 'corp.test.' });
  });

  it('a CNAME from elsewhere into a zone this server hosts is followed into the zone: trusted, no AD', async () => {
    const r = await askDnssec({ host: B, port: 53 }, 'intranet.corp.test.', 'A');
    expect(rcodeToString(r.rcode)).toBe('NOERROR');
    expect(r.answer.map((x) => `${x.name} ${x.type}`)).toEqual(expect.arrayContaining(['intranet.corp.test. 5', 'portal.b.local. 1']));
    expect(r.ad).toBe(false);
    const e = JSON.parse((await b.cli(['explain', 'intranet.corp.test.', 'A', '--json'])).stdout) as { security: string; reason: string };
    expect(e.security).toBe('insecure');
    expect(e.reason).toMatch(/zone this server hosts/);
  });

  it('distributeTrustAnchor: the Key Master put the zone\'s KSKs in its own trust store', async () => {
    const list = await a.cli(['trust-anchor', 'list', 'corp.test.', '--json']);
    expect(list.code, list.stderr).toBe(0);
    const text = list.stdout;
    expect(text).toMatch(/DNSKEY/);
    expect(a.log()).toMatch(/"event":"zone.trust-anchor-distributed"/);
  });

  it('an anchor that matches none of the zone keys makes its answers bogus: SERVFAIL with EDE 9', async () => {
    const list = JSON.parse((await b.cli(['trust-anchor', 'list', 'corp.test.', '--json'])).stdout) as unknown;
    const tags = JSON.stringify(list).match(/"keyTag":\s*(\d+)/g)!.map((m) => Number(m.split(':')[1]));
    expect(tags.length).toBeGreaterThan(0);
    // A DS for a key the zone does not have, then the real anchors removed.
    const added = await b.cli(['trust-anchor', 'add', 'corp.test.', '--ds', '12345 13 2 ' + 'ab'.repeat(32)]);
    expect(added.code, added.stderr).toBe(0);
    for (const tag of new Set(tags)) expect((await b.cli(['trust-anchor', 'remove', 'corp.test.', String(tag)])).code).toBe(0);
    await b.cli(['cache', 'flush']);
    const r = await askDnssec({ host: B, port: 53 }, 'www.corp.test.', 'A');
    expect(rcodeToString(r.rcode)).toBe('SERVFAIL');
    expect(extendedErrors(r.edns)[0]!.infoCode).toBe(9);
  });

  it('dnssec.enable: false — a third server forwarding to A validates but sends no RRSIG, NSEC or NSEC3, even with DO', async () => {
    const c = await startKeymaster({
      address: '127.10.100.3', control: '127.10.100.3:5380', rootHints: join(dir, 'named.root'), validation: true, rootAnchors: 'none',
      dnssecYaml: '  enable: false\n',
      extraYaml: `policy:\n  - { namespace: .corp.test, forwarders: ["${A}:53"] }\n`,
    });
    try {
      expect((await c.cli(['trust-anchor', 'import', '--keyset', join(a.stateDir, 'keyset-corp.test.')])).code).toBe(0);
      for (const [name, type] of [['www.corp.test.', 'A'], ['nope.corp.test.', 'A'], ['www.corp.test.', 'TXT']] as const) {
        const r = await askDnssec({ host: '127.10.100.3', port: 53 }, name, type);
        expect(r.ad, `${name} ${type}`).toBe(true);
        expect([...r.answer, ...r.authority].filter((x) => x.type === 46 || x.type === 47 || x.type === 50), `${name} ${type}`).toEqual([]);
      }
      // A's own answers with DO carry them (enable: true there).
      const fromA = await askDnssec({ host: A, port: 53 }, 'www.corp.test.', 'A');
      expect(fromA.answer.some((x) => x.type === 46)).toBe(true);
    } finally {
      await c.stop();
    }
  });
});
