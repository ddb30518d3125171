/** Shared helpers for the trust-* tests: DNSKEYs, signed DNSKEY sets, a test root-anchors.xml, a log capture. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { signRrset, type SigningKey } from '../../src/authority/rrset-signer.js';
import { dsDigest } from '../../src/crypto/ds-digest.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { authenticateDnskeyRrset } from '../../src/dnssec/dnskey-authentication.js';
import type { TrustAnchorSource } from '../../src/dnssec/trust-anchor.js';
import { DEFAULT_VALIDATION_LIMITS, ValidationBudget } from '../../src/dnssec/validation-budget.js';
import type { Clock } from '../../src/clock.js';
import type { KeymasterConfig } from '../../src/config/schema.js';
import { createScheduler, type Scheduler } from '../../src/scheduler.js';
import { createLogger, type Logger } from '../../src/logging/logger.js';
import { startTrustService, type TrustService, type TrustServiceOptions } from '../../src/trust/trust-service.js';
import type { DocumentStore } from '../../src/store/document-store.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';

export interface TestKey {
  readonly rdata: Uint8Array;
  readonly signer: SigningKey;
}

/** A P-256 DNSKEY (flags 257 KSK, 256 ZSK) of `zone` with its private key. */
export function makeKey(zone: Name, flags = 257): TestKey {
  const pair = generateKeyPair(13);
  const rdata = encodeRdata(RRType.DNSKEY, { flags, protocol: 3, algorithm: 13, publicKey: pair.publicKeyField });
  return { rdata, signer: { zone, algorithm: 13, keyTag: keyTag(rdata), privateKey: pair.privateKey } };
}

/** The same key with the REVOKE bit (flags 385): a new key tag, the same private key. */
export function revoked(key: TestKey): TestKey {
  const rdata = Uint8Array.from(key.rdata);
  rdata[1] = rdata[1]! | 0x80;
  return { rdata, signer: { ...key.signer, keyTag: keyTag(rdata) } };
}

export function dsOf(zone: Name, key: TestKey): Uint8Array {
  return encodeRdata(RRType.DS, { keyTag: keyTag(key.rdata), algorithm: 13, digestType: 2, digest: dsDigest(2, zone.wire, key.rdata) });
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex').toUpperCase();
}

/** A DNSKEY RRset of `published` keys signed by `signers`, valid from an hour before `nowMs` for `validityDays`. */
export function signedDnskeySet(
  zone: Name,
  published: readonly TestKey[],
  signers: readonly TestKey[],
  nowMs: number,
  options: { ttl?: number; validityDays?: number } = {},
): { records: ResourceRecord[]; rrsigs: ResourceRecord[] } {
  const ttl = options.ttl ?? 172_800;
  const records = published.map((k) => ({ name: zone, type: RRType.DNSKEY, class: 1, ttl, rdata: k.rdata }));
  const now = Math.floor(nowMs / 1000);
  const window = { inception: now - 3600, expiration: now + (options.validityDays ?? 21) * 86_400 };
  return { records, rrsigs: signers.map((s) => signRrset(records, s.signer, window)) };
}

/** Whether the DNSKEY RRset authenticates against what `source` trusts for `zone` (as the validator would). */
export function validatesWith(source: TrustAnchorSource, zone: Name, set: { records: ResourceRecord[]; rrsigs: ResourceRecord[] }, nowMs: number): { state: string; reason: string } {
  const anchor = source.anchors().find((a) => a.zone.equals(zone));
  const outcome = authenticateDnskeyRrset(zone, set.records, set.rrsigs, { ds: anchor?.ds ?? [], dnskey: anchor?.dnskey ?? [] }, {
    now: Math.floor(nowMs / 1000),
    limits: DEFAULT_VALIDATION_LIMITS,
    budget: new ValidationBudget(),
  }).outcome;
  return { state: outcome.state, reason: outcome.reason };
}

/** A root-anchors.xml (RFC 9718) with one KeyDigest per entry. */
export function rootAnchorsXml(entries: readonly { id: string; key: TestKey; validFrom: string; validUntil?: string; withPublicKey?: boolean }[]): string {
  const digests = entries.map((e) => {
    const digest = hex(dsDigest(2, Name.root.wire, e.key.rdata));
    const pk = Buffer.from(e.key.rdata.subarray(4)).toString('base64');
    return `<KeyDigest id="${e.id}" validFrom="${e.validFrom}"${e.validUntil ? ` validUntil="${e.validUntil}"` : ''}>
<KeyTag>${keyTag(e.key.rdata)}</KeyTag>
<Algorithm>13</Algorithm>
<DigestType>2</DigestType>
<Digest>${digest.slice(0, 32)}
   ${digest.slice(32)}</Digest>
${e.withPublicKey ? `<PublicKey>${pk}</PublicKey>\n<Flags>257</Flags>\n` : ''}</KeyDigest>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<TrustAnchor id="TEST-ROOT" source="http://127.10.30.1/root-anchors.xml">
<Zone>.</Zone>
${digests.join('\n')}
</TrustAnchor>
`;
}

/** A pino logger whose JSON lines are kept in `lines` for assertions. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[]; events: (name: string) => Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  const logger = createLogger({ level: 'debug', destination: stream });
  return { logger, lines, events: (name) => lines.filter((l) => l['event'] === name) };
}

/** Temporary state dirs for a test file, all removed by `removeAll` (call it from afterAll). */
export function tempDirs(prefix: string): { make(): string; removeAll(): void } {
  const made: string[] = [];
  return {
    make() {
      const d = mkdtempSync(join(tmpdir(), prefix));
      made.push(d);
      return d;
    },
    removeAll: () => made.forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}

/** The trust service as serve.ts starts it: the config's trustAnchors section, a file store in its stateDir (unless the test brings its own). */
export async function startTrust(
  options: Omit<TrustServiceOptions, 'documents' | 'trustAnchors' | 'scheduler'> & { config: KeymasterConfig; documents?: DocumentStore; scheduler?: Scheduler },
): Promise<TrustService> {
  const { config, documents, scheduler, ...rest } = options;
  return startTrustService({
    ...rest,
    trustAnchors: config.trustAnchors,
    documents: documents ?? (await FileDocumentStore.open(config.stateDir)),
    scheduler: scheduler ?? manualScheduler(options.clock),
  });
}

/** The scheduler in tests: jobs run only when the test calls runDue() on the simulated clock. */
export function manualScheduler(clock: Clock): Scheduler {
  return createScheduler({ clock, mode: 'manual' });
}

/** The file store in `dir`, `beforeWrite` run before each write: it may throw (a full or read-only disk) or wait. */
export async function documentsWith(dir: string, beforeWrite: () => void | Promise<void>): Promise<DocumentStore> {
  const inner = await FileDocumentStore.open(dir);
  return {
    description: inner.description,
    locate: (key) => inner.locate(key),
    read: (key, type) => inner.read(key, type),
    write: async (key, type, value, options) => {
      await beforeWrite();
      return inner.write(key, type, value, options);
    },
    delete: (key, options) => inner.delete(key, options),
    keys: (prefix) => inner.keys(prefix),
    watch: (prefix, listener) => inner.watch(prefix, listener),
    close: () => inner.close(),
  };
}
