import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';

/**
 * The worker-thread signer (src/authority/parallel-signer.ts + signing-worker.ts) as it runs in
 * production: from the compiled dist/ build, where the worker file exists (under the test runner's
 * TypeScript sources it would quietly sign on one thread; `requireThreads` makes that an error).
 * The threshold is lowered so a zone of a few thousand names takes the thread path with several
 * batches per thread. Its result must be the zone that single-threaded `signZone` makes, record for
 * record and in the same order: byte for byte with Ed25519 (deterministic signatures, RFC 8032),
 * and with ECDSA (randomized signatures) every field but the signature equal and every signature
 * verifying. The ECDSA zone must also pass BIND's dnssec-verify. No network.
 */

type ZoneSignerModule = typeof import('../../src/authority/zone-signer.js');
type ParallelSignerModule = typeof import('../../src/authority/parallel-signer.js');
type ResourceRecord = import('../../src/wire/message.js').ResourceRecord;
type ZoneSigningKey = import('../../src/authority/zone-signer.js').ZoneSigningKey;
type FullZoneSigningOptions = import('../../src/authority/zone-signer.js').FullZoneSigningOptions;

const DIST = resolve('dist');
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(join(DIST, path)).href)) as T;

let dist: {
  zoneSigner: ZoneSignerModule;
  parallel: ParallelSignerModule;
  Name: typeof import('../../src/wire/name.js').Name;
  parseZoneText: typeof import('../../src/wire/zone-file.js').parseZoneText;
  zoneToText: typeof import('../../src/wire/zone-file.js').zoneToText;
  generateKeyPair: typeof import('../../src/crypto/key-generation.js').generateKeyPair;
  keyTag: typeof import('../../src/crypto/key-tag.js').keyTag;
  encodeRdata: typeof import('../../src/wire/rdata-codec.js').encodeRdata;
  decodeRrsig: typeof import('../../src/wire/signed-data.js').decodeRrsig;
  rrsigSignatureVerifies: typeof import('../../src/dnssec/rrsig-signature.js').rrsigSignatureVerifies;
};

const RRSIG = 46;
const NSEC3 = 50;
const ZONE = 'par.example.';
const HOSTS = 2_500;
/** The signatures must be valid now: dnssec-verify checks them against the clock and has no time option. */
const NOW = Math.floor(Date.now() / 1000);
const WINDOWS = {
  dnskey: { inception: NOW - 3600, expiration: NOW + 7 * 86400 },
  ds: { inception: NOW - 3600, expiration: NOW + 7 * 86400 + 1 },
  other: { inception: NOW - 3600, expiration: NOW + 10 * 86400 },
};

/** Hosts with one to three types, multi-record and mixed-TTL RRsets, wildcards, empty non-terminals, secure and insecure delegations with glue, upper case. */
function zoneText(): string {
  const lines = [
    `$ORIGIN ${ZONE}`,
    '$TTL 3600',
    '@ IN SOA ns1 hostmaster 1 7200 900 1209600 300',
    '@ IN NS ns1',
    '@ IN MX 10 mail',
    'ns1 IN A 192.0.2.1',
    'mail IN A 192.0.2.25',
    '*.wild IN TXT "wildcard"',
    'Upper.CASE IN A 192.0.2.9',
    'mixed 300 IN A 192.0.2.10',
    'mixed 600 IN A 192.0.2.11',
  ];
  for (let i = 0; i < HOSTS; i++) {
    switch (i % 5) {
      case 0:
        lines.push(`h${i} IN A 10.0.${(i >> 8) & 255}.${i & 255}`, `h${i} IN A 10.1.${(i >> 8) & 255}.${i & 255}`, `h${i} IN AAAA 2001:db8::${i.toString(16)}`);
        break;
      case 1:
        lines.push(`a.b.deep${i} IN TXT "deep ${i}"`);
        break;
      case 2:
        lines.push(`sec${i} IN NS ns.sec${i}`, `sec${i} IN DS 60485 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118AAAAAAAAAAAAAAAAAAAAAAAA`, `ns.sec${i} IN A 192.0.2.53`);
        break;
      case 3:
        lines.push(`ins${i} IN NS ns.ins${i}`, `ns.ins${i} IN A 192.0.2.54`);
        break;
      default:
        lines.push(`H${i} IN MX 10 mail`, `*.w${i} IN A 192.0.2.7`);
    }
  }
  return lines.join('\n') + '\n';
}

function key(algorithm: number, role: 'ksk' | 'zsk', signs = true): ZoneSigningKey {
  const zone = dist.Name.parse(ZONE);
  const { privateKey, publicKeyField } = dist.generateKeyPair(algorithm);
  const dnskeyRdata = dist.encodeRdata(48, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm, publicKey: publicKeyField });
  return { zone, algorithm, keyTag: dist.keyTag(dnskeyRdata), privateKey, dnskeyRdata, role, signs };
}

function options(keys: ZoneSigningKey[], denial: FullZoneSigningOptions['denial'], extra: Partial<FullZoneSigningOptions> = {}): FullZoneSigningOptions {
  return { zone: dist.Name.parse(ZONE), keys, windows: WINDOWS, denial, dnskeyTtl: 3600, ...extra };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** One record as text for comparison; an RRSIG without its signature when `withoutSignature`. */
function describeRecord(r: ResourceRecord, withoutSignature: boolean): string {
  let rdata = r.rdata;
  if (withoutSignature && r.type === RRSIG) rdata = rdata.subarray(0, rdata.length - dist.decodeRrsig(rdata).signature.length);
  return `${hex(r.name.wire)} ${r.type} ${r.class} ${r.ttl} ${hex(rdata)}`;
}

/** Verifies every RRSIG over the RRset it covers with the key its tag names; the count verified. */
function verifyAll(records: readonly ResourceRecord[], keys: readonly ZoneSigningKey[]): number {
  const rrsets = new Map<string, ResourceRecord[]>();
  for (const r of records) {
    if (r.type === RRSIG) continue;
    const k = `${r.name.key}/${r.type}`;
    const set = rrsets.get(k);
    if (set) set.push(r);
    else rrsets.set(k, [r]);
  }
  let verified = 0;
  for (const sig of records.filter((r) => r.type === RRSIG)) {
    const fields = dist.decodeRrsig(sig.rdata);
    const rrset = rrsets.get(`${sig.name.key}/${fields.typeCovered}`);
    const signer = keys.find((k) => k.keyTag === fields.keyTag && k.algorithm === fields.algorithm);
    if (!rrset || !signer || !dist.rrsigSignatureVerifies(rrset, fields, signer.dnskeyRdata)) throw new Error(`RRSIG ${fields.typeCovered} at ${sig.name.toString()} does not verify`);
    verified++;
  }
  return verified;
}

let records: ResourceRecord[];
let dir: string;

beforeAll(async () => {
  if (!existsSync(join(DIST, 'authority/signing-worker.js'))) throw new Error('dist/ has no signing worker: run npm run build first');
  dist = {
    zoneSigner: await load<ZoneSignerModule>('authority/zone-signer.js'),
    parallel: await load<ParallelSignerModule>('authority/parallel-signer.js'),
    Name: (await load<typeof import('../../src/wire/name.js')>('wire/name.js')).Name,
    ...(await load<typeof import('../../src/wire/zone-file.js')>('wire/zone-file.js')),
    ...(await load<typeof import('../../src/crypto/key-generation.js')>('crypto/key-generation.js')),
    ...(await load<typeof import('../../src/crypto/key-tag.js')>('crypto/key-tag.js')),
    ...(await load<typeof import('../../src/wire/rdata-codec.js')>('wire/rdata-codec.js')),
    ...(await load<typeof import('../../src/wire/signed-data.js')>('wire/signed-data.js')),
    ...(await load<typeof import('../../src/dnssec/rrsig-signature.js')>('dnssec/rrsig-signature.js')),
  };
  records = dist.parseZoneText(zoneText(), { origin: ZONE, fileName: 'par.example.zone' }).records;
  dir = tempDir('parallel-signing');
});

afterAll(() => {
  if (dir) removeDir(dir);
});

describe('signZoneInParallel from dist/, on worker threads', () => {
  it('signs an ECDSA P-256 NSEC3 zone as signZone does: same records in the same order, every signature verifying, dnssec-verify passes', async () => {
    // A standby KSK that only publishes: its DNSKEY is in, it signs nothing (nor on a thread).
    const keys = [key(13, 'ksk'), key(13, 'zsk'), key(13, 'ksk', false)];
    const opts = options(keys, { kind: 'nsec3', iterations: 0, salt: new Uint8Array(0), optOut: false });
    const progress: [number, number][] = [];
    const parallel = await dist.parallel.signZoneInParallel(records, { ...opts, progressEvery: 1_000, onProgress: (done, total) => progress.push([done, total]) }, { threads: 2, threshold: 0, requireThreads: true });
    const single = dist.zoneSigner.signZone(records, opts);

    expect(parallel.length).toBe(single.length);
    expect(parallel.map((r) => describeRecord(r, true))).toEqual(single.map((r) => describeRecord(r, true)));
    const rrsigs = parallel.filter((r) => r.type === RRSIG).length;
    expect(rrsigs).toBeGreaterThan(6_000); // several 2,000-signature batches per thread
    expect(verifyAll(parallel, keys)).toBe(rrsigs);
    expect(parallel.filter((r) => r.type === NSEC3).length).toBe(single.filter((r) => r.type === NSEC3).length);

    // Progress: rising, within the total, ending at total of total.
    expect(progress.at(-1)).toEqual([rrsigs, rrsigs]);
    expect(progress.length).toBeGreaterThan(2);
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
      expect(progress[i]![1]).toBe(rrsigs);
    }

    if (haveTool('dnssec-verify')) {
      const file = join(dir, 'ecdsa-nsec3.zone');
      writeFileSync(file, dist.zoneToText(parallel, dist.Name.parse(ZONE)));
      const verify = spawnSync('dnssec-verify', ['-x', '-o', ZONE, '-q', file], { encoding: 'utf8' });
      expect(verify.status, verify.stderr).toBe(0);
    }
  });

  it('is byte for byte the zone signZone makes with Ed25519 (deterministic signatures), for NSEC and for salted NSEC3 with opt-out', async () => {
    const keys = [key(15, 'ksk'), key(15, 'zsk')];
    for (const denial of [{ kind: 'nsec' }, { kind: 'nsec3', iterations: 2, salt: Uint8Array.of(0xab, 0xcd), optOut: true }] as const) {
      const opts = options(keys, denial);
      const parallel = await dist.parallel.signZoneInParallel(records, opts, { threads: 3, threshold: 0, requireThreads: true });
      const single = dist.zoneSigner.signZone(records, opts);
      expect(parallel.map((r) => describeRecord(r, false)), denial.kind).toEqual(single.map((r) => describeRecord(r, false)));
    }
  });

  it('refuses to quietly use one thread when asked for threads, and signs below the threshold on this one otherwise', async () => {
    const keys = [key(13, 'ksk'), key(13, 'zsk')];
    const opts = options(keys, { kind: 'nsec' });
    await expect(dist.parallel.signZoneInParallel(records, opts, { threads: 2, requireThreads: true })).rejects.toThrow(/under the threshold/);
    await expect(dist.parallel.signZoneInParallel(records, opts, { threads: 1, threshold: 0, requireThreads: true })).rejects.toThrow(/at least 2 threads/);
    const onOneThread = await dist.parallel.signZoneInParallel(records, opts, { threads: 2 });
    expect(verifyAll(onOneThread, keys)).toBe(onOneThread.filter((r) => r.type === RRSIG).length);
  });

  it('fails with the thread’s error, and stops its threads, when a key cannot sign', async () => {
    const good = key(13, 'ksk');
    // A ZSK that claims ECDSA P-256 but holds an Ed25519 private key: signData refuses it on the thread.
    const bad: ZoneSigningKey = { ...key(13, 'zsk'), privateKey: dist.generateKeyPair(15).privateKey };
    await expect(dist.parallel.signZoneInParallel(records, options([good, bad], { kind: 'nsec' }), { threads: 2, threshold: 0, requireThreads: true })).rejects.toThrow(/signing thread: .*key/);
  });
});
