import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KeyMaster, dssetRecords, keyMasterChangeRefusal, parentFilesText, zoneSigningKeys } from '../../src/authority/key-master.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { KeyStore, KeyStoreError, zoneDirectoryName } from '../../src/authority/key-store.js';
import { DEFAULT_SIGNING_POLICY, SigningPolicyError, normalizeSigningPolicy, parseSigningAlgorithm } from '../../src/authority/signing-policy.js';
import { ManualClock } from '../../src/clock.js';
import { dsDigest } from '../../src/crypto/ds-digest.js';
import { parseDssetFile, parseKeysetFile } from '../../src/wire/key-files.js';
import { Name } from '../../src/wire/name.js';
import { decodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { removeDir, tempDir } from '../support/external-servers.js';

const zone = Name.parse('home.arpa.');
const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));
function stateDir(): string {
  const d = tempDir('keystore');
  dirs.push(d);
  return d;
}

describe('signing policy', () => {
  it('defaults are the issue\'s: ECDSA P-256, NSEC3 0 iterations no salt, 168h/168h/240h, 1h inception, 90d/755d, RFC 5011', () => {
    const p = normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);
    expect(p).toMatchObject({ algorithm: 13, kskBits: 256, zskBits: 256, denial: 'nsec3', nsec3Iterations: 0, nsec3SaltLength: 0, nsec3OptOut: false });
    expect([p.dnskeySignatureValidity, p.dsSignatureValidity, p.signatureValidity, p.signatureInception]).toEqual([168 * 3600, 168 * 3600, 240 * 3600, 3600]);
    expect([p.zskRollover, p.kskRollover, p.rfc5011]).toEqual([90 * 86400, 755 * 86400, true]);
    expect(normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, algorithm: 8 })).toMatchObject({ kskBits: 2048, zskBits: 2048 });
  });

  it('unknown algorithms and bad values are refused with the field named', () => {
    expect(() => parseSigningAlgorithm('GOST')).toThrow(/algorithm: unknown or unsupported DNSSEC algorithm "GOST"/);
    expect(() => parseSigningAlgorithm(3)).toThrow(SigningPolicyError);
    expect(() => parseSigningAlgorithm('RSASHA1')).toThrow(/SHA-1 and must not be used to sign/);
    expect(parseSigningAlgorithm('ecdsap384sha384')).toBe(14);
    expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, algorithm: 8, kskBits: 512 })).toThrow(/kskBits: RSA key size must be 1024\.\.4096/);
    expect(() => normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, nsec3Iterations: 501 })).toThrow(/nsec3Iterations/);
  });
});

describe('the key store and the Key Master', () => {
  it('generates four keys for RFC 5011 rollover, stores them 0600 with metadata, and finds the same ones again', async () => {
    const dir = stateDir();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const master = new KeyMaster(new KeyStore(dir, await FileDocumentStore.open(dir)), clock);
    const policy = normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);
    const first = await master.keysFor(zone, policy);
    expect(first.generated.map((k) => `${k.role}/${k.state}`).sort()).toEqual(['ksk/active', 'ksk/standby', 'zsk/active', 'zsk/next']);
    const keyDir = join(dir, 'keys', 'home.arpa');
    expect(statSync(keyDir).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(keyDir)) {
      expect(statSync(join(keyDir, f)).mode & 0o777, f).toBe(0o600);
      if (f.endsWith('.json')) expect(readFileSync(join(keyDir, f), 'utf8')).not.toMatch(/PRIVATE/);
    }
    const active = first.keys.find((k) => k.metadata.role === 'zsk' && k.metadata.state === 'active')!.metadata;
    expect(active.nextRollover).toBe(new Date(Date.UTC(2026, 0, 1) + 90 * 86400_000).toISOString());
    expect(zoneSigningKeys(zone, first.keys).map((k) => `${k.role}:${k.signs}`).sort()).toEqual(['ksk:false', 'ksk:true', 'zsk:false', 'zsk:true']);

    // A restart: a new Key Master on the same state dir makes no keys.
    const again = await new KeyMaster(new KeyStore(dir, await FileDocumentStore.open(dir)), clock).keysFor(zone, policy);
    expect(again.generated).toEqual([]);
    expect(again.keys.map((k) => k.metadata.id).sort()).toEqual(first.keys.map((k) => k.metadata.id).sort());
  });

  it('another algorithm retires the old keys; without RFC 5011 there is one KSK and one ZSK', async () => {
    const dir = stateDir();
    const master = new KeyMaster(new KeyStore(dir, await FileDocumentStore.open(dir)), new ManualClock());
    const first = await master.keysFor(zone, normalizeSigningPolicy(DEFAULT_SIGNING_POLICY));
    const second = await master.keysFor(zone, normalizeSigningPolicy({ ...DEFAULT_SIGNING_POLICY, algorithm: 15, rfc5011: false }));
    expect(second.retired.map((m) => m.id).sort()).toEqual(first.keys.map((k) => k.metadata.id).sort());
    const published = second.keys.filter((k) => k.metadata.state !== 'retired');
    expect(published.map((k) => `${k.metadata.role}/${k.metadata.algorithm}`).sort()).toEqual(['ksk/15', 'zsk/15']);
    expect((await master.keys(zone)).filter((k) => k.metadata.state === 'retired')).toHaveLength(4);
  });

  it('an unwritable key directory is an error naming it, and leaves the store as it was', async () => {
    const dir = stateDir();
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(join(dir, 'keys', zoneDirectoryName(zone)), 'not a directory');
    const master = new KeyMaster(new KeyStore(dir, await FileDocumentStore.open(dir)), new ManualClock());
    const error = await master.keysFor(zone, normalizeSigningPolicy(DEFAULT_SIGNING_POLICY)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyStoreError);
    expect((error as Error).message).toContain(join(dir, 'keys', 'home.arpa'));
    expect(readdirSync(join(dir, 'keys'))).toEqual(['home.arpa']);
    expect(readFileSync(join(dir, 'keys', 'home.arpa'), 'utf8')).toBe('not a directory');
  });

  it('writes dsset and keyset text (BIND format) that parses back, with the KSKs only', async () => {
    const master = new KeyMaster(new KeyStore(stateDir(), await FileDocumentStore.open(stateDir())), new ManualClock());
    const policy = normalizeSigningPolicy(DEFAULT_SIGNING_POLICY);
    const { keys } = await master.keysFor(zone, policy);
    const files = parentFilesText(zone, keys, policy);
    const ds = parseDssetFile(files.dsset, { fileName: 'dsset-home.arpa.' });
    const keyset = parseKeysetFile(files.keyset, { fileName: 'keyset-home.arpa.' });
    expect(keyset.records.map((r) => decodeRdata(RRType.DNSKEY, r.rdata)['flags'])).toEqual([257, 257]);
    expect(ds.records).toHaveLength(2);
    for (const [i, rr] of ds.records.entries()) {
      const f = decodeRdata(RRType.DS, rr.rdata);
      expect(f['digestType']).toBe(2);
      expect(Buffer.from(f['digest'] as Uint8Array)).toEqual(Buffer.from(dsDigest(2, zone.wire, keyset.records[i]!.rdata)));
    }
    expect(dssetRecords(zone, keys, 4, 3600).map((r) => (decodeRdata(RRType.DS, r.rdata)['digest'] as Uint8Array).length)).toEqual([48, 48]);
  });

  it('a file-backed zone cannot move its Key Master', () => {
    expect(keyMasterChangeRefusal('home.arpa.', 'dc1.corp.example', 'kmhost', true)).toMatch(/file-backed.*cannot be moved to dc1\.corp\.example/);
    expect(keyMasterChangeRefusal('home.arpa.', 'KMHOST.', 'kmhost', true)).toBeUndefined();
  });
});
