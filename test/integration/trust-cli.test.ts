import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dsDigest } from '../../src/crypto/ds-digest.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { dssetToText, keysetToText } from '../../src/wire/key-files.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { startKeymaster, tempDir, type KeymasterServer } from '../support/external-servers.js';

/** trust-point / trust-anchor verbs against a running server (loopback 127.10.30.0/24, control 127.0.0.1:59301). */

const dnskey = (zone: Name) => encodeRdata(RRType.DNSKEY, { flags: 257, protocol: 3, algorithm: 13, publicKey: generateKeyPair(13).publicKeyField });
let server: KeymasterServer;
let dir: string;

beforeAll(async () => {
  dir = tempDir('trust-cli');
  server = await startKeymaster({ address: '127.10.30.2', control: '127.0.0.1:59301', rootHints: 'builtin', extraYaml: '' });
}, 60_000);
afterAll(async () => server?.stop());

describe('keymaster trust-point and trust-anchor against a running server', () => {
  it('the root trust point was bootstrapped from root-anchors.xml: DS anchors 20326 and 38696, DsPending', async () => {
    const list = await server.cli(['trust-point', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/^TrustPoint\s+State\s+Anchors\s+NextActiveRefresh\s+LastResult\s+Source$/m);
    expect(list.stdout).toMatch(/^\.\s+DsPending\s+2 DS/m);
    const show = await server.cli(['trust-point', 'show', '.', '--json']);
    const detail = JSON.parse(show.stdout) as { anchors: { keyTag: number; type: string; state: string; label: string }[] };
    expect(detail.anchors.map((a) => [a.type, a.keyTag, a.state, a.label])).toEqual([
      ['DS', 20326, 'Valid', 'Klajeyz'],
      ['DS', 38696, 'Valid', 'Kmyv6jo'],
    ]);
  });

  it('imports keyset-/dsset- files (trailing dot optional), adds by RDATA, lists and removes', async () => {
    const corp = Name.parse('corp.example.');
    const k1 = dnskey(corp);
    const keyset = join(dir, 'keyset-corp.example');
    writeFileSync(keyset, keysetToText([{ name: corp, type: RRType.DNSKEY, class: 1, ttl: 3600, rdata: k1 }]).replace('corp.example.', 'corp.example'));
    const imported = await server.cli(['trust-anchor', 'import', '--keyset', keyset]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/^Added 1 anchor\(s\) to corp\.example\./);

    const lab = Name.parse('lab.example.');
    const k2 = dnskey(lab);
    const ds = encodeRdata(RRType.DS, { keyTag: keyTag(k2), algorithm: 13, digestType: 2, digest: dsDigest(2, lab.wire, k2) });
    const dsset = join(dir, 'dsset-lab.example.');
    writeFileSync(dsset, dssetToText([{ name: lab, type: RRType.DS, class: 1, ttl: 3600, rdata: ds }]));
    expect((await server.cli(['trust-anchor', 'import', '--dsset', dsset])).code).toBe(0);

    const k3 = dnskey(corp);
    const added = await server.cli(['trust-anchor', 'add', 'corp.example', '--dnskey', rdataToText(RRType.DNSKEY, k3)]);
    expect(added.code, added.stderr).toBe(0);
    const again = await server.cli(['trust-anchor', 'add', 'corp.example', '--dnskey', rdataToText(RRType.DNSKEY, k3)]);
    expect(again.stdout).toMatch(/Nothing added to corp\.example\. \(1 already present\)/);

    const list = await server.cli(['trust-anchor', 'list', 'corp.example.']);
    expect(list.stdout).toMatch(/^TrustAnchor\s+Type\s+KeyTag\s+Alg\s+State\s+Trusted\s+EnteredState\s+NextState/);
    expect(list.stdout).toContain(`corp.example.  DNSKEY  ${String(keyTag(k1)).padStart(6)}`);
    const all = JSON.parse((await server.cli(['trust-anchor', 'list', '--json'])).stdout) as { anchors: { zone: string; keyTag: number; type: string; trusted: boolean }[] };
    expect(all.anchors.filter((a) => a.zone !== '.').map((a) => [a.zone, a.type, a.keyTag, a.trusted])).toEqual([
      ['corp.example.', 'DNSKEY', keyTag(k1), true],
      ['corp.example.', 'DNSKEY', keyTag(k3), true],
      ['lab.example.', 'DS', keyTag(k2), true],
    ]);

    const removed = await server.cli(['trust-anchor', 'remove', 'corp.example', String(keyTag(k1))]);
    expect(removed.code, removed.stderr).toBe(0);
    const gone = await server.cli(['trust-anchor', 'remove', 'corp.example', String(keyTag(k1))]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/has no anchor with key tag/);
    expect((await server.cli(['trust-point', 'remove', 'lab.example'])).code).toBe(0);
    const points = JSON.parse((await server.cli(['trust-point', 'list', '--json'])).stdout) as { trustPoints: { zone: string }[] };
    expect(points.trustPoints.map((p) => p.zone)).toEqual(['.', 'corp.example.']);
  });

  it('bad input is refused with its reason and changes nothing; refresh reports the failure', async () => {
    const bad = await server.cli(['trust-anchor', 'add', 'corp.example', '--ds', '1 13 2 ABCD']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^keymaster trust-anchor: ds: the digest has 2 octets; digest type 2 \(SHA-256\) has 32$/m);
    const usage = await server.cli(['trust-anchor', 'add', 'corp.example']);
    expect(usage.code).toBe(2);
    const refresh = await server.cli(['trust-point', 'refresh', 'corp.example']);
    expect(refresh.code).toBe(1);
    expect(refresh.stdout).toMatch(/^Refresh of corp\.example\.: failed: /);
  });

  it('the store survives a restart of the reader (anchors are on disk)', async () => {
    const { readFileSync } = await import('node:fs');
    const stored = JSON.parse(readFileSync(join(server.stateDir, 'trust-anchors.json'), 'utf8')) as { data: { trustPoints: { zone: string }[] } };
    expect(stored.data.trustPoints.map((t) => t.zone)).toEqual(['.', 'corp.example.']);
  });
});
