import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectEtcd, etcdConnection } from '../../src/cluster/etcd-client.js';
import { parseConfigText } from '../../src/config/loader.js';
import { StoreError } from '../../src/store/document-store.js';
import { EtcdDocumentStore } from '../../src/store/etcd-document-store.js';
import { type EtcdCluster, startEtcdCluster } from '../support/etcd-cluster.js';
import { haveTool, type KeymasterServer, removeDir, startKeymaster, tempDir } from '../support/external-servers.js';
import { testPrefix } from '../support/cluster-node.js';
import { COUNTER } from '../support/store-contract.js';

/**
 * `cluster.etcd.tls`: etcd serving clients over TLS and demanding a client certificate signed by
 * its CA (--client-cert-auth). Keymaster connects with the configured CA, certificate and key; a
 * client without a certificate, or with one the CA did not sign, is refused and writes nothing.
 */
const HOSTS = ['127.10.137.60', '127.10.137.61', '127.10.137.62'];
const enabled = haveTool('etcd') && haveTool('openssl');

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA, a certificate signed by it for `name` with `ext` (SAN, EKU), and its key. */
function issue(dir: string, name: string, ext: string): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const extFile = join(dir, `${name}.ext`);
  writeFileSync(extFile, ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`]);
  openssl(['x509', '-req', '-in', csr, '-CA', join(dir, 'ca.pem'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile]);
  return { cert, key };
}

describe.skipIf(!enabled)('etcd over TLS with client certificates', () => {
  let dir: string;
  let etcd: EtcdCluster;
  let config: ReturnType<typeof parseConfigText>;
  const clients: Etcd3[] = [];
  let keymaster: KeymasterServer | undefined;

  beforeAll(async () => {
    dir = tempDir('etcd-tls');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.pem'), '-days', '2', '-subj', '/CN=keymaster-test-ca']);
    const server = issue(dir, 'etcd', `subjectAltName=${HOSTS.map((h) => `IP:${h}`).join(',')}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    const client = issue(dir, 'ns1', 'extendedKeyUsage=clientAuth\n');
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'rogue.key'), '-out', join(dir, 'rogue.pem'), '-days', '2', '-subj', '/CN=rogue']);
    etcd = await startEtcdCluster(HOSTS, { ...server, clientCa: join(dir, 'ca.pem'), ca: join(dir, 'ca.pem'), clientCert: client.cert, clientKey: client.key });
    config = parseConfigText(
      `cluster:\n  name: ns1\n  etcd:\n    endpoints: [${etcd.endpoints.map((e) => JSON.stringify(e)).join(', ')}]\n    prefix: ${testPrefix()}\n    tls: { ca: ca.pem, cert: ns1.pem, key: ns1.key }\n`,
      'keymaster.yaml',
      { baseDir: dir },
    );
  }, 60_000);
  afterAll(async () => {
    await keymaster?.stop();
    for (const c of clients) c.close();
    await etcd?.destroy();
    removeDir(dir);
  });

  it('with the configured CA and client certificate: writes and reads go through', async () => {
    const c = config.cluster!;
    expect(etcd.endpoints.every((e) => e.startsWith('https://'))).toBe(true);
    const client = connectEtcd(etcdConnection(c));
    clients.push(client);
    const store = await EtcdDocumentStore.open(client.namespace(c.etcd.prefix), c.etcd.prefix, 'etcd over TLS');
    expect((await store.write('policy', COUNTER, { count: 1, note: 'tls' })).revision).toBe(1);
    expect((await store.read('policy', COUNTER))?.value).toEqual({ count: 1, note: 'tls' });
    await store.close();
  });

  it('without a client certificate, or with one the CA did not sign: refused, nothing written', async () => {
    const c = config.cluster!;
    for (const tls of [{ ca: join(dir, 'ca.pem') }, { ca: join(dir, 'ca.pem'), cert: join(dir, 'rogue.pem'), key: join(dir, 'rogue.key') }]) {
      const client = connectEtcd({ endpoints: c.etcd.endpoints, tls, callTimeoutMs: 1000 });
      clients.push(client);
      const error = await EtcdDocumentStore.open(client.namespace(c.etcd.prefix), c.etcd.prefix, 'etcd over TLS').then(
        (s) => s.write('policy', COUNTER, { count: 9, note: 'intruder' }),
        (e: unknown) => Promise.reject(e),
      ).then(() => undefined, (e: unknown) => e);
      expect(error, JSON.stringify(tls)).toBeInstanceOf(StoreError);
    }
    const good = connectEtcd(etcdConnection(c));
    clients.push(good);
    const store = await EtcdDocumentStore.open(good.namespace(c.etcd.prefix), c.etcd.prefix, 'etcd over TLS');
    expect((await store.read('policy', COUNTER))?.value).toEqual({ count: 1, note: 'tls' });
    await store.close();
  }, 60_000);

  it('a Keymaster in cluster mode over TLS: cluster status shows every member healthy', async () => {
    const c = config.cluster!;
    keymaster = await startKeymaster({
      address: '127.10.137.70',
      control: '127.10.137.70:5380',
      rootHints: 'builtin',
      extraYaml: `cluster:\n  name: ns1\n  etcd:\n    endpoints: [${c.etcd.endpoints.map((e) => JSON.stringify(e)).join(', ')}]\n    prefix: ${testPrefix()}\n    tls: { ca: ${JSON.stringify(join(dir, 'ca.pem'))}, cert: ${JSON.stringify(join(dir, 'ns1.pem'))}, key: ${JSON.stringify(join(dir, 'ns1.key'))} }\n`,
    });
    const status = await keymaster.cli(['cluster', 'status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    const body = JSON.parse(status.stdout) as { members: { name: string; healthy: boolean; endpoint: string }[] };
    expect(body.members.map((m) => [m.name, m.healthy, m.endpoint.startsWith('https://')])).toEqual([['m1', true, true], ['m2', true, true], ['m3', true, true]]);
  }, 60_000);
});
