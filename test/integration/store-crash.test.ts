import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { removeDir, tempDir } from '../support/external-servers.js';
import { COUNTER } from '../support/store-contract.js';

/**
 * The store contract's crash clause, against the file store: a child process rewrites one
 * document as fast as it can, printing "ack N" after each write resolves, and is SIGKILLed at a
 * random moment, 20 times. After every kill the document must load, undamaged, with at least the
 * last revision the child acknowledged.
 */
const STORE = resolve('dist/store/file-document-store.js');
const CHILD = `
const { FileDocumentStore } = await import(${JSON.stringify(STORE)});
const type = ${JSON.stringify({ format: COUNTER.format, version: COUNTER.version })};
const counter = { ...type, encode: (v) => v, decode: (d) => d };
const store = await FileDocumentStore.open(process.argv[1]);
let count = (await store.read('counter', counter))?.value.count ?? 0;
for (;;) {
  count++;
  const { revision } = await store.write('counter', counter, { count, note: 'x'.repeat(2000 + (count % 7) * 500) });
  process.stdout.write('ack ' + revision + ' ' + count + '\\n');
}
`;

describe('file store crash safety', () => {
  it('SIGKILL during writes, 20 times: the document always loads and holds every acknowledged write', async () => {
    const dir = tempDir('store-crash');
    try {
      let acknowledged = 0;
      for (let round = 0; round < 20; round++) {
        const child = spawn('node', ['--input-type=module', '-e', CHILD, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        const target = acknowledged + 2 + Math.floor(Math.random() * 6);
        await new Promise<void>((done) => {
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const last = [...out.matchAll(/ack (\d+)/g)].at(-1);
            if (last && Number(last[1]) >= target) {
              setImmediate(() => child.kill('SIGKILL')); // somewhere inside the next write
              done();
            }
          });
        });
        await new Promise((r) => child.once('exit', r));
        const acks = [...out.matchAll(/ack (\d+) (\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
        acknowledged = Math.max(acknowledged, ...acks.map(([revision]) => revision));
        const store = await FileDocumentStore.open(dir);
        const doc = await store.read('counter', COUNTER);
        expect(doc, `round ${round}`).toBeDefined();
        expect(doc!.revision).toBeGreaterThanOrEqual(acknowledged);
        expect(doc!.value.count).toBe(doc!.revision); // one write per revision, none half-applied
        acknowledged = doc!.revision;
      }
    } finally {
      removeDir(dir);
    }
  });
});
