import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd } from '../../src/cluster/etcd-client.js';
import { haveTool, removeDir, runKeymasterCli, tempDir } from '../support/external-servers.js';
import { SOFTHSM_MODULE } from '../support/softhsm-token.js';
import { type HsmKekCluster, KEK_LABEL, KEK_TOKEN, startHsmKekCluster } from '../support/hsm-kek-cluster.js';
import { verifyTransferredCopy } from '../support/secondary-servers.js';
import { CLUSTER_ZONE, axfr, unsignedRecords } from '../support/zone-cluster.js';

/**
 * Issue 13 item 4 with the key-encryption key in an HSM: two primaries over a 3-member etcd share
 * one SoftHSM2 token whose AES key (made by `keymaster cluster kek-create`) wraps every zone key's
 * data key; etcd holds the zone's private keys only sealed, naming the token KEK, and each primary
 * opens them through the token to sign its own copy, which dnssec-verify and ldns-verify-zone accept.
 */

const ETCD = ['127.10.152.1', '127.10.152.2', '127.10.152.3'];
const HOSTS = ['127.10.153.1', '127.10.153.2'];
const enabled = ['etcd', 'dig', 'dnssec-verify', 'ldns-verify-zone', 'softhsm2-util'].every(haveTool);

const dnskeys = (text: string) =>
  text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === 'DNSKEY')
    .map((f) => f.slice(4).join(' '))
    .sort();

describe.skipIf(!enabled)('cluster mode with the key-encryption key in a PKCS#11 token (SoftHSM2)', () => {
  let lab: HsmKekCluster;
  const dir = tempDir('cluster-hsm-kek');

  beforeAll(async () => {
    lab = await startHsmKekCluster(ETCD, HOSTS);
  }, 180_000);
  afterAll(async () => {
    await lab?.stop();
    removeDir(dir);
  });

  it('both primaries serve the zone signed with the same keys; each AXFR passes dnssec-verify and ldns-verify-zone', async () => {
    await expect.poll(() => HOSTS.map((h) => unsignedRecords(axfr(h)).length > 0 && dnskeys(axfr(h)).length >= 2), { timeout: 30_000 }).toEqual(HOSTS.map(() => true));
    for (const host of HOSTS) verifyTransferredCopy(dir, { host, port: 53 }, CLUSTER_ZONE, host);
    const [one, two] = HOSTS.map(axfr);
    expect(unsignedRecords(two!)).toEqual(unsignedRecords(one!));
    expect(dnskeys(two!)).toEqual(dnskeys(one!));
  }, 60_000);

  it('etcd holds the private keys only sealed, each naming the token KEK; no primary wrote a key file', async () => {
    const client = connectEtcd({ endpoints: lab.etcd.endpoints, callTimeoutMs: 3000 });
    try {
      const all = await client.namespace(lab.prefix).getAll().strings();
      const text = Object.values(all).join('\n');
      expect(text).not.toMatch(/PRIVATE KEY|BEGIN /);
      const sealed = Object.entries(all).filter(([k]) => k.startsWith('private-keys/'));
      expect(sealed.length).toBeGreaterThanOrEqual(2);
      for (const [key, value] of sealed) {
        const document = JSON.parse(value) as { format: string; data: Record<string, string> };
        expect(document.format, key).toBe('keymaster-sealed-private-key');
        expect(document.data, key).toMatchObject({ alg: 'A256GCM-envelope', kek: 'pkcs11', kekId: lab.checkValue, kekToken: KEK_TOKEN, kekLabel: KEK_LABEL });
      }
    } finally {
      client.close();
    }
    for (const p of lab.primaries) {
      // The KEK the server opened, as it logs it: kind, token, label and check value, never the key.
      expect(p.log()).toContain(`"keyEncryptionKey":{"kind":"pkcs11","id":"${lab.checkValue}","token":"${KEK_TOKEN}","label":"${KEK_LABEL}"}`);
      const files = (() => {
        try {
          return readdirSync(join(p.stateDir, 'keys'), { recursive: true }).map(String);
        } catch {
          return [];
        }
      })();
      expect(files.filter((f) => f.endsWith('.pem'))).toEqual([]);
    }
  }, 30_000);

  it('a primary whose token key is another one does not start: it names the sealed document and both KEKs', async () => {
    const made = await runKeymasterCli(['cluster', 'kek-create', '--pkcs11-module', SOFTHSM_MODULE, '--token', KEK_TOKEN, '--pin-file', lab.pinFile, '--label', 'another-kek']);
    expect(made.code, made.stderr).toBe(0);
    const error = (await lab.startPrimary('127.10.153.3', 'ns3', 'another-kek', 8000).then(
      async (server) => (await server.stop(), undefined),
      (e: unknown) => e as Error,
    ))!;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/"event":"server.start-failed"/);
    // Nothing of the failed start is left running (its etcd lease, keep-alive and watches): it exits.
    expect(error.message).toMatch(/keymaster serve exited with 1/);
    expect(error.message).toMatch(
      new RegExp(`private-keys/cluster\\.example/[0-9a-f-]+: sealed under another key-encryption key \\(the token key "${KEK_LABEL}" in token "${KEK_TOKEN}", id ${lab.checkValue}; this server's is the token key "another-kek" in token "${KEK_TOKEN}", id [0-9a-f]{6}\\)`),
    );
  }, 60_000);

  it('a primary configured with a token key label that does not exist refuses to start, naming token and label and how to make it', async () => {
    const error = (await lab.startPrimary('127.10.153.3', 'ns3', 'no-such-kek').then(
      (server) => (void server.stop(), undefined),
      (e: unknown) => e as Error,
    ))!;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/exited with/);
    expect(error.message).toContain(`token \\"${KEK_TOKEN}\\" has no AES key labelled \\"no-such-kek\\"; make one with: keymaster cluster kek-create`);
  }, 60_000);
});
