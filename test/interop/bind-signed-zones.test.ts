import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { rrsigSignatureVerifies } from '../../src/dnssec/rrsig-signature.js';
import { groupRrsets } from '../../src/wire/rrsets.js';
import type { ResourceRecord } from '../../src/wire/message.js';
import { Name } from '../../src/wire/name.js';
import { RRType } from '../../src/wire/rr-type.js';
import { decodeRrsig } from '../../src/wire/signed-data.js';
import { parseZoneText } from '../../src/wire/zone-file.js';
import { type BindSignedZone, haveTool, removeDir, signZoneWithBind } from '../support/external-servers.js';

const ZONE = `$TTL 3600
example.        IN SOA ns1.example. Hostmaster.Example. 2026112301 7200 900 1209600 300
example.        IN NS  ns1.example.
example.        IN NS  NS2.Example.
example.        IN MX  10 Mail.Example.
ns1.example.    IN A   192.0.2.1
NS2.example.    IN AAAA 2001:db8::2
mail.example.   IN A   192.0.2.25
*.wild.example. IN TXT "wildcard" "second string"
www.example.    IN CNAME Web.Example.
web.example.    IN A   192.0.2.80
web.example.    IN A   192.0.2.81
_443._tcp.web.example. IN TLSA 3 1 1 2BB183AF5F22588179A53B0A98631FAD1A2921182BB183AF5F22588179A53B0A
srv._tcp.example. IN SRV 0 5 5060 Sip.Example.
caa.example.    IN CAA 0 issue "ca.example.net"
svc.example.    IN HTTPS 1 . alpn="h2,h3" port=443 ipv4hint=192.0.2.80
dn.example.     IN DNAME Target.Example.
sub.example.    IN NS  ns.sub.example.
sub.example.    IN DS  60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
ns.sub.example. IN A   192.0.2.53
\\200bin\\.ary.example. IN TXT "binary label"
`;

const ALGORITHMS: ReadonlyArray<[string, number, { nsec3?: boolean; bits?: number }]> = [
  ['RSASHA1', 5, { bits: 1024 }],
  ['NSEC3RSASHA1', 7, { nsec3: true, bits: 1024 }],
  ['RSASHA256', 8, { bits: 2048 }],
  ['RSASHA512', 10, { bits: 2048 }],
  ['ECDSAP256SHA256', 13, {}],
  ['ECDSAP384SHA384', 14, { nsec3: true }],
  ['ED25519', 15, {}],
  ['ED448', 16, { nsec3: true }],
];

function coveredRrset(sets: ResourceRecord[][], sig: ResourceRecord): ResourceRecord[] | undefined {
  const covered = decodeRrsig(sig.rdata).typeCovered;
  return sets.find((s) => s[0]!.type === covered && s[0]!.name.equals(sig.name));
}

describe.skipIf(!haveTool('dnssec-signzone'))('zones signed by BIND dnssec-signzone verify with our crypto and canonical form', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach(removeDir));

  for (const [mnemonic, number, opts] of ALGORITHMS) {
    it(`${mnemonic} (${number})${opts.nsec3 ? ' with NSEC3' : ''}: every RRSIG verifies, a changed record does not`, () => {
      const signed: BindSignedZone = signZoneWithBind('example.', ZONE, mnemonic, opts);
      dirs.push(signed.dir);
      const { records } = parseZoneText(readFileSync(signed.signedFile, 'latin1'), { origin: 'example.', fileName: signed.signedFile });
      const sigs = records.filter((r) => r.type === RRType.RRSIG);
      const rrsets = groupRrsets(records.filter((r) => r.type !== RRType.RRSIG));
      const dnskeys = records.filter((r) => r.type === RRType.DNSKEY);
      expect(dnskeys.length).toBe(2);
      expect(sigs.length).toBeGreaterThan(15);
      const coveredTypes = new Set<number>();
      for (const sig of sigs) {
        const rrsig = decodeRrsig(sig.rdata);
        expect(rrsig.algorithm).toBe(number);
        const rrset = coveredRrset(rrsets, sig);
        expect(rrset, `RRset for ${sig.name} ${rrsig.typeCovered}`).toBeDefined();
        const key = dnskeys.find((k) => rrsigSignatureVerifies(rrset!, rrsig, k.rdata));
        expect(key, `signature over ${sig.name} type ${rrsig.typeCovered}`).toBeDefined();
        coveredTypes.add(rrsig.typeCovered);
      }
      expect([...coveredTypes]).toEqual(expect.arrayContaining([RRType.SOA, RRType.DNSKEY, RRType.TXT, RRType.HTTPS, RRType.DS, opts.nsec3 ? RRType.NSEC3 : RRType.NSEC]));

      // The wildcard's RRSIG has one label fewer than its owner (RFC 4034 §3.1.3).
      const wildSig = sigs.find((s) => s.name.isWildcard)!;
      expect(decodeRrsig(wildSig.rdata).labels).toBe(wildSig.name.labelCount - 1);

      // A different record under the same signature must fail.
      const webSig = sigs.find((s) => s.name.equals(Name.parse('web.example.')) && decodeRrsig(s.rdata).typeCovered === RRType.A)!;
      const web = coveredRrset(rrsets, webSig)!;
      const tampered = [{ ...web[0]!, rdata: Uint8Array.from([192, 0, 2, 99]) }, web[1]!];
      expect(dnskeys.some((k) => rrsigSignatureVerifies(tampered, decodeRrsig(webSig.rdata), k.rdata))).toBe(false);
      // ... and a mixed-case owner still verifies (canonical form lowercases it).
      const upper = web.map((r) => ({ ...r, name: Name.parse('WEB.EXAMPLE.') }));
      expect(dnskeys.some((k) => rrsigSignatureVerifies(upper, decodeRrsig(webSig.rdata), k.rdata))).toBe(true);
    });
  }
});
