import { RRType } from '../wire/rr-type.js';
import type { ResourceRecord } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { decodeRdata } from '../wire/rdata-codec.js';
import { parseZoneText } from '../wire/zone-file.js';

/** IANA's root hints (named.root), built in so a fresh install needs no file. */
const BUILTIN_ROOT_HINTS = `
.                        3600000      NS    A.ROOT-SERVERS.NET.
.                        3600000      NS    B.ROOT-SERVERS.NET.
.                        3600000      NS    C.ROOT-SERVERS.NET.
.                        3600000      NS    D.ROOT-SERVERS.NET.
.                        3600000      NS    E.ROOT-SERVERS.NET.
.                        3600000      NS    F.ROOT-SERVERS.NET.
.                        3600000      NS    G.ROOT-SERVERS.NET.
.                        3600000      NS    H.ROOT-SERVERS.NET.
.                        3600000      NS    I.ROOT-SERVERS.NET.
.                        3600000      NS    J.ROOT-SERVERS.NET.
.                        3600000      NS    K.ROOT-SERVERS.NET.
.                        3600000      NS    L.ROOT-SERVERS.NET.
.                        3600000      NS    M.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2
B.ROOT-SERVERS.NET.      3600000      AAAA  2801:1b8:10::b
C.ROOT-SERVERS.NET.      3600000      A     192.33.4.12
C.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2::c
D.ROOT-SERVERS.NET.      3600000      A     199.7.91.13
D.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2d::d
E.ROOT-SERVERS.NET.      3600000      A     192.203.230.10
E.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:a8::e
F.ROOT-SERVERS.NET.      3600000      A     192.5.5.241
F.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2f::f
G.ROOT-SERVERS.NET.      3600000      A     192.112.36.4
G.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:12::d0d
H.ROOT-SERVERS.NET.      3600000      A     198.97.190.53
H.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:1::53
I.ROOT-SERVERS.NET.      3600000      A     192.36.148.17
I.ROOT-SERVERS.NET.      3600000      AAAA  2001:7fe::53
J.ROOT-SERVERS.NET.      3600000      A     192.58.128.30
J.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:c27::2:30
K.ROOT-SERVERS.NET.      3600000      A     193.0.14.129
K.ROOT-SERVERS.NET.      3600000      AAAA  2001:7fd::1
L.ROOT-SERVERS.NET.      3600000      A     199.7.83.42
L.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:9f::42
M.ROOT-SERVERS.NET.      3600000      A     202.12.27.33
M.ROOT-SERVERS.NET.      3600000      AAAA  2001:dc3::35
`;

export interface RootHints {
  /** The root's name servers and their addresses, as the priming query starts from. */
  readonly servers: ReadonlyArray<{ name: Name; addresses: string[] }>;
  readonly records: readonly ResourceRecord[];
}

/**
 * Reads named.root-style hints: NS records at the root and A/AAAA records for those names.
 * Anything else is an error, so a wrong file is caught at start, not at the first query.
 */
export function parseRootHints(text: string, fileName = 'root hints'): RootHints {
  const { records } = parseZoneText(text, { origin: '.', fileName });
  const ns = records.filter((r) => r.type === RRType.NS);
  if (ns.length === 0) throw new Error(`${fileName}: no NS records for the root`);
  for (const r of records) {
    if (r.type === RRType.NS && !r.name.isRoot) throw new Error(`${fileName}: NS record for ${r.name} (only the root's belong here)`);
    if (r.type !== RRType.NS && r.type !== RRType.A && r.type !== RRType.AAAA) throw new Error(`${fileName}: unexpected ${r.name} type ${r.type}`);
  }
  const servers = ns.map((r) => {
    const name = decodeRdata(RRType.NS, r.rdata)['nsdname'] as Name;
    const addresses = records
      .filter((a) => (a.type === RRType.A || a.type === RRType.AAAA) && a.name.equals(name))
      .map((a) => decodeRdata(a.type, a.rdata)['address'] as string);
    return { name, addresses };
  });
  if (!servers.some((s) => s.addresses.length > 0)) throw new Error(`${fileName}: no addresses for any root server`);
  return { servers, records };
}

export const builtinRootHints: RootHints = parseRootHints(BUILTIN_ROOT_HINTS, 'built-in root hints');
