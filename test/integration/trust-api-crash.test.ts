import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { readControlToken } from '../../src/control-contract/control-token.js';
import { FileDocumentStore } from '../../src/store/file-document-store.js';
import { TrustAnchorStore } from '../../src/trust/trust-anchor-store.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { rdataToText } from '../../src/wire/rdata-text.js';
import { RRType } from '../../src/wire/rr-type.js';
import { captureLogger, manualScheduler } from '../unit/trust-fixtures.js';
import { localRootZoneYaml } from '../support/local-root-zone.js';
import { removeDir, startKeymaster, tempDir, type KeymasterServer } from '../support/external-servers.js';

/**
 * Durable before acknowledged, on a real server process: each `trust-anchor add` and `remove` is
 * sent to a freshly started `keymaster serve`, which is killed with SIGKILL the moment the reply's
 * status line reaches the client. The store file left behind must hold every anchor whose add
 * was acknowledged and none whose removal was. Loopback 127.10.140.0/24, control 127.10.140.1:5380.
 */

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 20);
const CONTROL = { host: '127.10.140.1', port: 5380 };
const ZONE = 'crash.example.';
const stateRoot = tempDir('trust-api-crash');
const stateDir = join(stateRoot, 'state');
afterAll(() => removeDir(stateRoot));

const rootZoneYaml = localRootZoneYaml(stateRoot, '127.10.140.2');

function start(): Promise<KeymasterServer> {
  return startKeymaster({
    address: '127.10.140.2',
    control: `${CONTROL.host}:${CONTROL.port}`,
    rootHints: 'builtin',
    stateDir,
    rootAnchors: 'none',
    extraYaml: rootZoneYaml,
  });
}

/** Sends one control request and SIGKILLs the server as soon as the response head arrives; resolves with the status. */
async function sendThenKill(server: KeymasterServer, method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<number> {
  const token = await readControlToken(stateDir);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const status = await new Promise<number>((resolve, reject) => {
    const req = request(
      {
        ...CONTROL,
        method,
        path,
        headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}) },
      },
      (res) => {
        server.child.kill('SIGKILL');
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
  await new Promise((r) => (server.alive() ? server.child.once('exit', r) : r(undefined)));
  removeDir(server.dir); // the generated config; stateDir is outside it
  return status;
}

async function storedTags(): Promise<number[]> {
  const store = await TrustAnchorStore.open({ documents: await FileDocumentStore.open(stateDir), clock: new ManualClock(), scheduler: manualScheduler(new ManualClock()), logger: captureLogger().logger });
  return (store.get(ZONE)?.anchors ?? []).map((a) => a.keyTag).sort((a, b) => a - b);
}

describe('trust-anchor add/remove survive a SIGKILL as the reply arrives', () => {
  const acknowledged: number[] = [];

  it(`add, ${ROUNDS} times: every acknowledged anchor is in the store after the kill`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const rdata = encodeRdata(RRType.DNSKEY, { flags: 257, protocol: 3, algorithm: 13, publicKey: generateKeyPair(13).publicKeyField });
      const server = await start();
      const status = await sendThenKill(server, 'POST', '/v1/trust-anchors', { zone: ZONE, dnskey: rdataToText(RRType.DNSKEY, rdata) });
      expect(status, `round ${round}`).toBe(201);
      acknowledged.push(keyTag(rdata));
      const stored = await storedTags();
      for (const tag of acknowledged) expect(stored, `round ${round}: acknowledged ${tag} lost`).toContain(tag);
    }
    expect(await storedTags()).toEqual([...acknowledged].sort((a, b) => a - b));
  }, 240_000);

  it(`remove, ${ROUNDS} times: no acknowledged removal comes back, after the kill or after a restart`, async () => {
    expect(acknowledged).toHaveLength(ROUNDS);
    const removed: number[] = [];
    for (const [round, tag] of acknowledged.entries()) {
      const server = await start();
      const status = await sendThenKill(server, 'DELETE', `/v1/trust-anchors?zone=${ZONE}&keyTag=${tag}`);
      expect(status, `round ${round}`).toBe(200);
      removed.push(tag);
      const stored = await storedTags();
      for (const gone of removed) expect(stored, `round ${round}: removed ${gone} came back`).not.toContain(gone);
    }
    const server = await start();
    try {
      const list = await server.cli(['trust-point', 'list', '--json']);
      expect(list.code, list.stderr).toBe(0);
      expect((JSON.parse(list.stdout) as { trustPoints: { zone: string }[] }).trustPoints).toEqual([]);
    } finally {
      await server.stop();
    }
  }, 240_000);
});
