import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ResourceRecord } from '../wire/message.js';
import { type PendingRrsig, finishRrsig, prepareRrsig } from './rrset-signer.js';
import type { SigningWorkerBatch, SigningWorkerKeys, SigningWorkerResult } from './signing-worker.js';
import { type FullZoneSigningOptions, type ZoneSigningKey, planZoneSigning, signZone } from './zone-signer.js';

/** Below this many signatures one thread is quicker than starting workers. */
export const PARALLEL_SIGNING_THRESHOLD = 20_000;
const BATCH = 2_000;

const WORKER_FILE = fileURLToPath(new URL('./signing-worker.js', import.meta.url));

/** How many signing threads a zone gets: the cores, at most 8 (the main thread builds the chain meanwhile idle). */
export function signingThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/**
 * `signZone` with the signatures spread over worker threads for big zones: the main thread
 * builds the NSEC/NSEC3 chain and the bytes each RRSIG covers, the workers only run the
 * signature algorithm, and the RRSIGs are put together in order, so the result is the same
 * zone `signZone` makes. Small zones, one core, or a build without the compiled worker (the
 * TypeScript sources under a test runner) sign in this thread.
 */
export async function signZoneInParallel(records: readonly ResourceRecord[], options: FullZoneSigningOptions, threads = signingThreads()): Promise<ResourceRecord[]> {
  const plan = planZoneSigning(records, options);
  if (threads < 2 || plan.jobs.length < PARALLEL_SIGNING_THRESHOLD || !existsSync(WORKER_FILE)) return signZone(records, options, plan);

  const keyIndex = new Map<ZoneSigningKey, number>();
  const keys: SigningWorkerKeys['keys'][number][] = [];
  for (const job of plan.jobs)
    if (!keyIndex.has(job.key)) {
      keyIndex.set(job.key, keys.length);
      keys.push({ algorithm: job.key.algorithm, privateKey: job.key.privateKey });
    }
  const pending: PendingRrsig[] = plan.jobs.map((job) => prepareRrsig(job.rrset, job.key, job.window));
  const signatures: Uint8Array[] = new Array(pending.length);
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_FILE));
  let done = 0;
  const every = options.progressEvery ?? 10_000;
  let nextReport = every;
  try {
    for (const w of workers) w.postMessage({ kind: 'keys', keys } satisfies SigningWorkerKeys);
    let next = 0;
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.on('error', reject);
            const send = () => {
              if (next >= pending.length) return resolve();
              const start = next;
              const end = Math.min(pending.length, start + BATCH);
              next = end;
              const batch: SigningWorkerBatch = {
                kind: 'batch',
                id: start,
                keyIndex: Uint16Array.from(plan.jobs.slice(start, end), (j) => keyIndex.get(j.key)!),
                data: pending.slice(start, end).map((p) => p.data),
              };
              worker.postMessage(batch);
            };
            worker.on('message', (result: SigningWorkerResult) => {
              if (result.error !== undefined || !result.signatures) return reject(new Error(`signing thread: ${result.error ?? 'no signatures'}`));
              result.signatures.forEach((s, i) => (signatures[result.id + i] = s));
              done += result.signatures.length;
              if (options.onProgress && done >= nextReport && done < pending.length) {
                options.onProgress(done, pending.length);
                nextReport += every;
              }
              send();
            });
            send();
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  options.onProgress?.(pending.length, pending.length);
  return [...plan.records, ...pending.map((p, i) => finishRrsig(p, signatures[i]!))];
}
