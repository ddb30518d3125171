import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/config-error.js';
import { parseConfigText } from '../../src/config/loader.js';

const parse = (text: string) => parseConfigText(text, 'keymaster.yaml', { baseDir: '/etc/keymaster' });

function problems(text: string): string {
  try {
    parse(text);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  return '';
}

describe('cluster: config', () => {
  it('absent: single-server mode', () => {
    expect(parse('listen: ["127.0.0.1:5300"]\n').cluster).toBeUndefined();
  });

  it('reads the keys with their defaults, paths resolved', () => {
    const c = parse(`cluster:
  name: ns1
  etcd: { endpoints: ["http://10.0.0.1:2379", "http://10.0.0.2:2379/"] }
  keyEncryptionKey: kek
`).cluster!;
    expect(c).toEqual({
      name: 'ns1',
      etcd: { endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], prefix: '/keymaster/', tls: undefined, callTimeout: 3 },
      keyEncryptionKey: '/etc/keymaster/kek',
      keyMaster: { leaseTtl: 15, autoFailover: false },
    });
    const tls = parse(`cluster:
  name: ns2.example
  etcd: { endpoints: ["https://etcd1:2379"], prefix: /dns/site-a/, tls: { ca: ca.pem, cert: me.pem, key: me.key } }
  keyMaster: { leaseTtl: 10s, autoFailover: true }
`).cluster!;
    expect(tls.etcd.tls).toEqual({ ca: '/etc/keymaster/ca.pem', cert: '/etc/keymaster/me.pem', key: '/etc/keymaster/me.key' });
    expect(tls.keyMaster).toEqual({ leaseTtl: 10, autoFailover: true });
  });

  it('keyEncryptionKey: a path, or an AES key in a PKCS#11 token; every mistake named', () => {
    const hsm = parse(`cluster:
  name: ns1
  etcd: { endpoints: ["http://10.0.0.1:2379"] }
  keyEncryptionKey: { pkcs11: { module: /usr/lib/softhsm/libsofthsm2.so, token: cluster, pinFile: pin, label: keymaster-kek } }
`).cluster!;
    expect(hsm.keyEncryptionKey).toEqual({ pkcs11: { module: '/usr/lib/softhsm/libsofthsm2.so', token: 'cluster', pinFile: '/etc/keymaster/pin', label: 'keymaster-kek' } });
    const base = 'cluster: { name: ns1, etcd: { endpoints: ["http://a:2379"] }, keyEncryptionKey: ';
    const cases: [string, RegExp][] = [
      ['{ pkcs11: { module: m.so, token: t, pinFile: p } } }', /cluster\.keyEncryptionKey\.pkcs11.*missing required key "label"/],
      ['{ pkcs11: { module: m.so, token: t, pinFile: p, label: "" } } }', /cluster\.keyEncryptionKey\.pkcs11\.label.*must not be empty/],
      ['{ pkcs11: { module: m.so, token: " ", pinFile: p, label: k } } }', /cluster\.keyEncryptionKey\.pkcs11\.token.*must not be empty/],
      ['{ pkcs11: { module: m.so, token: t, pin: p, label: k } } }', /cluster\.keyEncryptionKey\.pkcs11\.pin\b/],
      ['{ hsm: { module: m.so } } }', /cluster\.keyEncryptionKey\.hsm/],
      ['42 }', /cluster\.keyEncryptionKey.*a file path or \{ pkcs11: \{ module, token, pinFile, label \} \}/],
      ['[kek] }', /cluster\.keyEncryptionKey.*a file path or/],
    ];
    for (const [text, pattern] of cases) expect(problems(`${base}${text}\n`), text).toMatch(pattern);
  });

  it('names the key of every mistake', () => {
    const cases: [string, RegExp][] = [
      ['cluster: { etcd: { endpoints: ["http://a:2379"] } }', /cluster.*missing required key "name"/],
      ['cluster: { name: NS1, etcd: { endpoints: ["http://a:2379"] } }', /cluster\.name.*not a server name/],
      ['cluster: { name: ns1, etcd: { endpoints: [] } }', /cluster\.etcd\.endpoints/],
      ['cluster: { name: ns1, etcd: { endpoints: ["ftp://a:2379"] } }', /cluster\.etcd\.endpoints\[0\].*http/],
      ['cluster: { name: ns1, etcd: { endpoints: ["https://a:2379"] } }', /cluster\.etcd\.endpoints\[0\].*set tls/],
      ['cluster: { name: ns1, etcd: { endpoints: ["http://a:2379"], tls: { ca: c } } }', /cluster\.etcd\.endpoints\[0\].*plain http/],
      ['cluster: { name: ns1, etcd: { endpoints: ["https://a:2379"], tls: { ca: c, cert: x } } }', /cluster\.etcd\.tls\.key.*both cert and key/],
      ['cluster: { name: ns1, etcd: { endpoints: ["http://a:2379"], prefix: keymaster } }', /cluster\.etcd\.prefix.*start and end with "\/"/],
      ['cluster: { name: ns1, etcd: { endpoints: ["http://a:2379"] }, keyMaster: { leaseTtl: 1s } }', /cluster\.keyMaster\.leaseTtl.*at least/],
      ['cluster: { name: ns1, etcd: { endpoints: ["http://a:2379"] }, keyMaster: { autoFailover: yes please } }', /cluster\.keyMaster\.autoFailover/],
      ['cluster: { name: ns1, etcd: { endpoints: ["http://a:2379"] }, serverName: x }', /cluster\.serverName/],
    ];
    for (const [text, pattern] of cases) expect(problems(`${text}\n`), text).toMatch(pattern);
  });
});
