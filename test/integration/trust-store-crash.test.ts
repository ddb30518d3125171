import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { TrustAnchorStore } from '../../src/trust/trust-anchor-store.js';
import { captureLogger, manualScheduler } from '../unit/trust-fixtures.js';
import { tempDir } from '../support/external-servers.js';

/**
 * A child process adds anchors to the store one by one, printing "saved N" after each write is
 * on disk; it is killed with SIGKILL at a random moment, many times over. After every kill the
 * store must load and hold at least every anchor the child reported saved.
 */
const STORE = resolve('dist/trust/trust-anchor-store.js');
const DOCUMENTS = resolve('dist/store/file-document-store.js');
const SCHEDULER = resolve('dist/scheduler.js');
const CHILD = `
import { generateKeyPairSync } from 'node:crypto';
const { TrustAnchorStore } = await import(${JSON.stringify(STORE)});
const { FileDocumentStore } = await import(${JSON.stringify(DOCUMENTS)});
const { createScheduler } = await import(${JSON.stringify(SCHEDULER)});
const clock = { now: () => Date.now() };
const logger = { info() {}, warn() {}, error() {}, debug() {}, trace() {}, fatal() {} };
const store = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(process.argv[1]), clock, scheduler: createScheduler({ clock }), logger });
let n = store.list()[0]?.anchors.length ?? 0;
for (;;) {
  const tp = store.list()[0] ?? { zone: 'crash.example.', anchors: [], createdAt: Date.now(), failures: 0 };
  const rdata = new Uint8Array(4 + 64);
  rdata.set([1, 1, 3, 13]);
  rdata.set(Buffer.from(String(n).padStart(64, '0')), 4);
  const keyTag = (await import(${JSON.stringify(resolve('dist/crypto/key-tag.js'))})).keyTag(rdata);
  store.put({ ...tp, anchors: [...tp.anchors, { type: 'DNSKEY', rdata, keyTag, algorithm: 13, state: 'Valid', since: Date.now(), origin: 'manual' }] });
  await store.flush();
  n++;
  process.stdout.write('saved ' + n + '\\n');
}
`;

describe('TrustAnchors store crash safety', () => {
  it('SIGKILL during writes, 25 times: the store always loads and never loses a saved anchor', async () => {
    const dir = tempDir('trust-crash');
    let saved = 0;
    for (let round = 0; round < 25; round++) {
      const child = spawn('node', ['--input-type=module', '-e', CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      // Kill after a few writes (counted, not timed), at whatever point of a write the child is in.
      const target = saved + 3 + Math.floor(Math.random() * 5);
      await new Promise<void>((done) => {
        const check = () => {
          const m = [...out.matchAll(/saved (\d+)/g)].at(-1);
          if (m && Number(m[1]) >= target) {
            child.stdout.off('data', check);
            setImmediate(() => child.kill('SIGKILL')); // mid-way through the next write
            done();
          }
        };
        child.stdout.on('data', check);
      });
      await new Promise((r) => child.once('exit', r));
      const reported = Math.max(saved, ...[...out.matchAll(/saved (\d+)/g)].map((m) => Number(m[1])));
      const store = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(dir), clock: new ManualClock(), scheduler: manualScheduler(new ManualClock()), logger: captureLogger().logger });
      const count = store.list()[0]?.anchors.length ?? 0;
      expect(count).toBeGreaterThanOrEqual(reported);
      saved = count;
    }
    expect(saved).toBeGreaterThanOrEqual(75);
  }, 120_000);
});
