import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { canonicalRrsetWire } from '../wire/canonical.js';
import type { ResourceRecord } from '../wire/message.js';
import { RRType } from '../wire/rr-type.js';
import { encodeRrsig, signedOwner } from '../wire/signed-data.js';
import type { SigningWorkerBatch, SigningWorkerKeys, SigningWorkerResult } from './signing-worker.js';
import type { SignatureWindow } from './rrset-signer.js';
import { isTokenKey } from './private-key-handle.js';
import { type FullZoneSigningOptions, type SigningJob, type ZoneSigningKey, completePlan, signZone, stageZoneSigning } from './zone-signer.js';

/** Below this many signatures one thread is quicker than starting workers. */
export const PARALLEL_SIGNING_THRESHOLD = 20_000;
/** Signatures per message to a thread: ~50 ms of ECDSA work, so progress and balance stay fine. */
const BATCH = 2_000;
/** Batches a thread holds once the chain is built: one signing, one waiting, so it never idles on us. */
const DEPTH = 2;

const WORKER_FILE = fileURLToPath(new URL('./signing-worker.js', import.meta.url));

/** How many signing threads a zone gets: the cores, at most 8. */
export function signingThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** Whether this build has the compiled signing worker (the TypeScript sources under a test runner do not). */
export function parallelSigningAvailable(): boolean {
  return existsSync(WORKER_FILE);
}

export interface ParallelSigningOptions {
  /** Signing threads; default `signingThreads()`. Fewer than 2 signs in this thread. */
  readonly threads?: number;
  /** Fewest signatures (estimated before the chain is built) worth starting threads for; default PARALLEL_SIGNING_THRESHOLD. */
  readonly threshold?: number;
  /** Throw instead of quietly signing in this thread (no compiled worker, under 2 threads, under the threshold): for tests and benchmarks that mean to use the threads. */
  readonly requireThreads?: boolean;
}

/**
 * `signZone` with the signatures spread over worker threads for big zones. The threads only
 * run the signature algorithm; this thread builds the NSEC/NSEC3 chain and the bytes each
 * RRSIG covers and puts the RRSIGs together in order, so the result is the zone `signZone`
 * makes (the same records in the same order; ECDSA signatures differ only because they are
 * randomized). The zone's data is handed out before the chain is built, so the threads sign
 * while this one hashes names. Small zones, one core, or a build without the compiled worker
 * (the TypeScript sources under a test runner) sign in this thread.
 */
export async function signZoneInParallel(records: readonly ResourceRecord[], options: FullZoneSigningOptions, parallel: ParallelSigningOptions = {}): Promise<ResourceRecord[]> {
  const threads = parallel.threads ?? signingThreads();
  // Keys in a PKCS#11 token sign in this thread, through the token's session.
  const usable = threads >= 2 && parallelSigningAvailable() && !options.keys.some((k) => isTokenKey(k.privateKey));
  if (parallel.requireThreads && !usable)
    throw new Error(threads < 2 ? `parallel signing needs at least 2 threads, got ${threads}` : `no compiled signing worker at ${WORKER_FILE}: run npm run build and use dist/`);
  const staged = stageZoneSigning(records, options);
  const estimate = staged.data.jobs.length + staged.chainOwners;
  const threshold = parallel.threshold ?? PARALLEL_SIGNING_THRESHOLD;
  if (!usable || estimate < threshold) {
    if (parallel.requireThreads) throw new Error(`parallel signing asked for, but the zone needs about ${estimate} signatures, under the threshold of ${threshold}`);
    return signZone(records, options, completePlan(staged));
  }

  const signingKeys = options.keys.filter((k) => k.signs !== false);
  const preparer = new RrsigPreparer(new Map(signingKeys.map((k, i) => [k, i])));
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_FILE));
  try {
    for (const w of workers) w.postMessage({ kind: 'keys', keys: signingKeys.map((k) => ({ algorithm: k.algorithm, privateKey: k.privateKey as KeyObject })) } satisfies SigningWorkerKeys);
    const jobs: SigningJob[] = staged.data.jobs.slice();
    /** Each batch's RRSIGs by its first job's index: batches finish out of order. */
    const signed = new Map<number, ResourceRecord[]>();
    const inFlight = new Map<number, PendingBatch>();
    const load = workers.map(() => 0);
    let next = 0;
    let total = Infinity;
    let done = 0;
    const every = options.progressEvery ?? 10_000;
    let nextReport = every;

    const dispatch = (w: number) => {
      const start = next;
      next = Math.min(jobs.length, start + BATCH);
      const { pending, keyIndex, data, ends } = preparer.batch(jobs, start, next);
      inFlight.set(start, pending);
      load[w]!++;
      workers[w]!.postMessage({ kind: 'batch', id: start, keyIndex, data, ends } satisfies SigningWorkerBatch, [keyIndex.buffer, data.buffer, ends.buffer]);
    };
    const finished = new Promise<void>((resolve, reject) => {
      workers.forEach((worker, w) => {
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (done < total) reject(new Error(`signing thread exited with code ${code}`));
        });
        worker.on('message', (result: SigningWorkerResult) => {
          try {
            const pending = inFlight.get(result.id);
            if (result.error !== undefined || !result.signatures || !result.ends || !pending || result.ends.length !== pending.heads.length)
              throw new Error(`signing thread: ${result.error ?? 'bad answer'}`);
            inFlight.delete(result.id);
            const count = pending.heads.length;
            const rrsigs: ResourceRecord[] = new Array(count);
            let start = 0;
            for (let i = 0; i < count; i++) {
              const end = result.ends[i]!;
              rrsigs[i] = finishRrsig(jobs[result.id + i]!.rrset[0]!, pending.ttls[i]!, pending.heads[i]!, result.signatures.subarray(start, end));
              start = end;
            }
            signed.set(result.id, rrsigs);
            done += count;
            load[w]!--;
            if (options.onProgress && done >= nextReport && done < total) {
              options.onProgress(done, total);
              while (nextReport <= done) nextReport += every;
            }
            while (load[w]! < DEPTH && next < jobs.length) dispatch(w);
            if (done === total) resolve();
          } catch (error) {
            reject(error as Error);
          }
        });
      });
    });
    finished.catch(() => undefined); // rejections are awaited below; none may go unhandled meanwhile

    // The data's signatures, all handed out now (round robin), keep the threads busy while the chain is built.
    for (let w = 0; next < jobs.length; w = (w + 1) % threads) dispatch(w);
    const chain = staged.chain();
    for (const job of chain.jobs) jobs.push(job);
    total = jobs.length;
    workers.forEach((_, w) => {
      while (load[w]! < DEPTH && next < jobs.length) dispatch(w);
    });
    await finished;
    options.onProgress?.(total, total);
    const out = [...staged.data.records, ...chain.records];
    for (const id of [...signed.keys()].sort((a, b) => a - b)) for (const rrsig of signed.get(id)!) out.push(rrsig);
    return out;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** The RRSIG RDATA before the signature: as written (the key's signer name) and as signed (canonical, lowercased). */
interface RrsigHead {
  readonly rdata: Uint8Array;
  readonly signed: Uint8Array;
}

/**
 * A batch's RRSIGs waiting for their signatures: per item its RDATA head and TTL (owner and
 * class are the covered RRset's). Arrays rather than an object per RRSIG: the data's batches
 * wait while the chain is built, long enough for 10^5 small objects to outlive the young
 * generation and cost the collector twice.
 */
interface PendingBatch {
  readonly heads: RrsigHead[];
  readonly ttls: Uint32Array;
}

/** `finishRrsig` of rrset-signer.ts: the RRSIG RDATA is its fields and then the signature, so a concatenation. */
function finishRrsig(covered: ResourceRecord, ttl: number, head: RrsigHead, signature: Uint8Array): ResourceRecord {
  const rdata = new Uint8Array(head.rdata.length + signature.length);
  rdata.set(head.rdata);
  rdata.set(signature, head.rdata.length);
  return { name: covered.name, type: RRType.RRSIG, class: covered.class, ttl, rdata };
}

/**
 * `prepareRrsig` for a whole zone: the same fields and signed data (RFC 4034 §3.1.8.1), but the
 * RRSIG RDATA before the signature is encoded once per (key, window, type, labels, TTL) rather
 * than once per RRset: a zone has a handful of those and 10^5 RRsets, and the generic RDATA
 * encoder was a quarter of this thread's work.
 */
class RrsigPreparer {
  private readonly heads = new Map<string, RrsigHead>();
  /** The head used last: neighbouring RRsets (a host's A after another's, NSEC3 after NSEC3) mostly share it. */
  private last: { index: number; window: SignatureWindow; type: number; labels: number; ttl: number; head: RrsigHead } | undefined;

  constructor(private readonly keyIndex: ReadonlyMap<ZoneSigningKey, number>) {}

  batch(jobs: readonly SigningJob[], start: number, end: number): { pending: PendingBatch; keyIndex: Uint16Array<ArrayBuffer>; data: Uint8Array<ArrayBuffer>; ends: Uint32Array<ArrayBuffer> } {
    const count = end - start;
    const heads: RrsigHead[] = new Array(count);
    const ttls = new Uint32Array(count);
    const keyIndex = new Uint16Array(count);
    const ends = new Uint32Array(count);
    const parts: Uint8Array[] = new Array(2 * count);
    let size = 0;
    for (let i = 0; i < count; i++) {
      const { rrset, key, window } = jobs[start + i]!;
      const first = rrset[0];
      if (!first) throw new RangeError('cannot sign an empty RRset');
      const index = this.keyIndex.get(key);
      if (index === undefined) throw new Error(`key ${key.keyTag} signs but is not among the zone's signing keys`);
      const labels = first.name.labelCount - (first.name.isWildcard ? 1 : 0);
      let ttl = first.ttl;
      for (const r of rrset) if (r.ttl < ttl) ttl = r.ttl;
      const last = this.last;
      let head: RrsigHead;
      if (last && last.index === index && last.window === window && last.type === first.type && last.labels === labels && last.ttl === ttl) head = last.head;
      else {
        head = this.head(index, key, window.inception, window.expiration, first.type, labels, ttl);
        this.last = { index, window, type: first.type, labels, ttl, head };
      }
      const records = canonicalRrsetWire(rrset, ttl, signedOwner(first.name, labels));
      heads[i] = head;
      ttls[i] = ttl;
      keyIndex[i] = index;
      parts[2 * i] = head.signed;
      parts[2 * i + 1] = records;
      size += head.signed.length + records.length;
      ends[i] = size;
    }
    const data = new Uint8Array(size);
    let pos = 0;
    for (const p of parts) {
      data.set(p, pos);
      pos += p.length;
    }
    return { pending: { heads, ttls }, keyIndex, data, ends };
  }

  private head(index: number, key: ZoneSigningKey, inception: number, expiration: number, typeCovered: number, labels: number, originalTtl: number): RrsigHead {
    const id = `${index}/${inception}/${expiration}/${typeCovered}/${labels}/${originalTtl}`;
    let head = this.heads.get(id);
    if (!head) {
      const fields = {
        typeCovered,
        algorithm: key.algorithm,
        labels,
        originalTtl,
        expiration: expiration >>> 0,
        inception: inception >>> 0,
        keyTag: key.keyTag,
        signerName: key.zone,
        signature: new Uint8Array(0),
      };
      head = { rdata: encodeRrsig(fields), signed: encodeRrsig({ ...fields, signerName: key.zone.lowercase() }) };
      this.heads.set(id, head);
    }
    return head;
  }
}
