import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { signZoneWithNsec, type ZoneSigningKey } from '../../src/authority/zone-signer.js';
import { generateKeyPair } from '../../src/crypto/key-generation.js';
import { keyTag } from '../../src/crypto/key-tag.js';
import { Name } from '../../src/wire/name.js';
import { encodeRdata } from '../../src/wire/rdata-codec.js';
import { RRType } from '../../src/wire/rr-type.js';
import { parseZoneText, zoneToText } from '../../src/wire/zone-file.js';
import { haveTool, removeDir, tempDir } from '../support/external-servers.js';

const ZONE = `$TTL 3600
example.        IN SOA ns1.example. hostmaster.example. 1 7200 900 1209600 300
example.        IN NS  ns1.example.
example.        IN MX  10 Mail.Example.
ns1.example.    IN A   192.0.2.1
mail.example.   IN A   192.0.2.25
*.wild.example. IN TXT "wildcard"
www.example.    IN CNAME web.example.
web.example.    IN A   192.0.2.80
web.example.    IN A   192.0.2.81
Upper.Case.example. IN AAAA 2001:db8::1
a.b.c.deep.example. IN TXT "empty non-terminals above"
svc.example.    IN HTTPS 1 . alpn="h2" port=443
sub.example.    IN NS  ns.sub.example.
sub.example.    IN DS  60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.sub.example. IN A   192.0.2.53
`;

const zone = Name.parse('example.');

function makeKey(algorithm: number, role: 'ksk' | 'zsk', bits?: number): ZoneSigningKey {
  const { privateKey, publicKeyField } = generateKeyPair(algorithm, bits);
  const dnskeyRdata = encodeRdata(RRType.DNSKEY, { flags: role === 'ksk' ? 257 : 256, protocol: 3, algorithm, publicKey: publicKeyField });
  return { zone, algorithm, keyTag: keyTag(dnskeyRdata), privateKey, dnskeyRdata, role };
}

const ALGORITHMS: ReadonlyArray<[number, number | undefined]> = [[5, 1024], [8, 2048], [10, 2048], [13, undefined], [14, undefined], [15, undefined], [16, undefined]];
const tools = haveTool('dnssec-verify') && haveTool('ldns-verify-zone');

describe.skipIf(!tools)('zones we sign pass dnssec-verify (BIND) and ldns-verify-zone (ldns)', () => {
  const dir = tempDir('oursign');
  afterAll(() => removeDir(dir));
  const now = Math.floor(Date.now() / 1000);
  const window = { inception: now - 3600, expiration: now + 10 * 86400 };

  for (const [algorithm, bits] of ALGORITHMS) {
    it(`algorithm ${algorithm}: KSK + ZSK, NSEC chain`, () => {
      const { records } = parseZoneText(ZONE, { origin: 'example.' });
      const signed = signZoneWithNsec(records, { zone, keys: [makeKey(algorithm, 'ksk', bits), makeKey(algorithm, 'zsk', bits)], window });
      const file = join(dir, `example.${algorithm}.signed`);
      writeFileSync(file, zoneToText(signed, zone), 'latin1');
      const bind = execFileSync('dnssec-verify', ['-o', 'example.', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(bind).toMatch(/Zone fully signed/);
      const ldns = spawnSync('ldns-verify-zone', [file], { encoding: 'utf8' });
      expect(ldns.stdout + ldns.stderr).toMatch(/Zone is verified and complete/);
      expect(ldns.status).toBe(0);
    });
  }

  it('a corrupted signature is caught by both tools', () => {
    const { records } = parseZoneText(ZONE, { origin: 'example.' });
    const signed = signZoneWithNsec(records, { zone, keys: [makeKey(13, 'ksk'), makeKey(13, 'zsk')], window });
    const victim = signed.findIndex((r) => r.type === RRType.RRSIG && r.name.equals(Name.parse('web.example.')));
    const rdata = Uint8Array.from(signed[victim]!.rdata);
    rdata[rdata.length - 1]! ^= 0xff;
    signed[victim] = { ...signed[victim]!, rdata };
    const file = join(dir, 'broken.signed');
    writeFileSync(file, zoneToText(signed, zone), 'latin1');
    expect(() => execFileSync('dnssec-verify', ['-o', 'example.', file], { stdio: 'pipe' })).toThrow();
    expect(() => execFileSync('ldns-verify-zone', [file], { stdio: 'pipe' })).toThrow();
  });
});
