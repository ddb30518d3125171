import type { Question, ResourceRecord } from '../wire/message.js';
import { Rcode } from '../wire/message.js';
import { Name } from '../wire/name.js';
import { parseRecordLine } from '../wire/record-text.js';
import { RRClass, RRType } from '../wire/rr-type.js';

/**
 * The zones a resolver answers itself instead of asking the internet (RFC 6761, RFC 6303,
 * RFC 7686, RFC 8375): exactly the defaults Unbound ships (`local-zone` in unbound.conf(5)),
 * with Unbound's data, so an operator moving from Unbound sees the same answers.
 *
 * `static` zones hold an SOA and an NS at the apex (and a PTR for the loopback addresses);
 * every other name is NXDOMAIN and every other type NODATA, with the SOA in the authority
 * section for negative caching. `redirect` (localhost.) answers every name below the apex with
 * the apex's A and AAAA, as RFC 6761 §6.3 asks of resolvers.
 */
export type LocalZoneKind = 'static' | 'redirect';

export interface LocallyServedZone {
  readonly name: Name;
  readonly kind: LocalZoneKind;
  /** The RFC that reserves the namespace. */
  readonly rfc: string;
  /** The zone's data: SOA and NS at the apex, plus the loopback PTR or localhost's addresses. */
  readonly records: readonly ResourceRecord[];
}

/** Unbound's TTL for all of it; the SOA minimum, so NXDOMAIN is cached 3 hours too. */
const TTL = 10_800;

function zone(text: string, kind: LocalZoneKind, rfc: string, extra: readonly string[] = []): LocallyServedZone {
  const name = Name.parse(text);
  const records = [`${text} ${TTL} IN SOA localhost. nobody.invalid. 1 3600 1200 604800 10800`, `${text} ${TTL} IN NS localhost.`, ...extra].map((line) => parseRecordLine(line));
  return { name, kind, rfc, records };
}

const reverse = (names: readonly string[], rfc: string): LocallyServedZone[] => names.map((n) => zone(n, 'static', rfc));
const range = (from: number, to: number, suffix: string): string[] => Array.from({ length: to - from + 1 }, (_, i) => `${from + i}.${suffix}`);
const IP6_LOOPBACK = `1.${'0.'.repeat(31)}ip6.arpa.`;
const IP6_UNSPECIFIED = `${'0.'.repeat(32)}ip6.arpa.`;

/** The default list, in the order of unbound.conf(5). */
export const DEFAULT_LOCALLY_SERVED_ZONES: readonly LocallyServedZone[] = [
  zone('localhost.', 'redirect', 'RFC 6761', ['localhost. 10800 IN A 127.0.0.1', 'localhost. 10800 IN AAAA ::1']),
  zone('127.in-addr.arpa.', 'static', 'RFC 6303', ['1.0.0.127.in-addr.arpa. 10800 IN PTR localhost.']),
  zone(IP6_LOOPBACK, 'static', 'RFC 6303', [`${IP6_LOOPBACK} 10800 IN PTR localhost.`]),
  zone('home.arpa.', 'static', 'RFC 8375'),
  zone('onion.', 'static', 'RFC 7686'),
  zone('test.', 'static', 'RFC 6761'),
  zone('invalid.', 'static', 'RFC 6761'),
  ...reverse(['10.in-addr.arpa.', ...range(16, 31, '172.in-addr.arpa.'), '168.192.in-addr.arpa.'], 'RFC 6303 (RFC 1918)'),
  ...reverse(['0.in-addr.arpa.', '254.169.in-addr.arpa.', '2.0.192.in-addr.arpa.', '100.51.198.in-addr.arpa.', '113.0.203.in-addr.arpa.', '255.255.255.255.in-addr.arpa.'], 'RFC 6303'),
  ...reverse(range(64, 127, '100.in-addr.arpa.'), 'RFC 6598 (shared address space)'),
  ...reverse([IP6_UNSPECIFIED, 'd.f.ip6.arpa.', '8.e.f.ip6.arpa.', '9.e.f.ip6.arpa.', 'a.e.f.ip6.arpa.', 'b.e.f.ip6.arpa.'], 'RFC 6303'),
  ...reverse(['8.b.d.0.1.0.0.2.ip6.arpa.'], 'RFC 3849 (documentation prefix)'),
];

/** Why a default zone is not answered here, for `keymaster status`. */
export type LocalZoneState = 'served' | 'disabled' | 'hosted' | 'forwarded';

export interface LocalZoneAnswer {
  readonly zone: Name;
  readonly rcode: number;
  readonly answer: ResourceRecord[];
  readonly authority: ResourceRecord[];
}

export interface LocallyServedZonesOptions {
  /** Zone names (lowercased, absolute) switched off in `resolver.localZones.disable`. */
  readonly disabled?: readonly Name[];
  /** Whether this server hosts a zone at `zone` or below it (its own data wins over the default). */
  readonly hosted?: (zone: Name) => boolean;
  /**
   * Whether the operator set forwarders for a namespace that covers `name` and lies at or below
   * `zone` (config or policy table): the forwarder is asked, the default stays out of its way.
   */
  readonly forwardedBelow?: (name: Name, zone: Name) => boolean;
}

/**
 * The default zones in force and their answers. Looked up by the longest matching zone, so a
 * zone listed inside another (none today) would win for its names.
 */
export class LocallyServedZones {
  private readonly zones = new Map<string, LocallyServedZone>();
  private readonly disabled: ReadonlySet<string>;
  private readonly deepest: number;

  constructor(private readonly o: LocallyServedZonesOptions = {}, zones: readonly LocallyServedZone[] = DEFAULT_LOCALLY_SERVED_ZONES) {
    this.disabled = new Set((o.disabled ?? []).map((n) => n.key));
    for (const z of zones) this.zones.set(z.name.key, z);
    this.deepest = Math.max(0, ...zones.map((z) => z.name.labelCount));
  }

  /** The zone whose namespace holds `name`, whether or not it is in force. */
  private find(name: Name): LocallyServedZone | undefined {
    const start = Math.max(0, name.labelCount - this.deepest);
    for (let strip = start; strip < name.labelCount; strip++) {
      const z = this.zones.get((strip === 0 ? name : name.parent(strip)).key);
      if (z) return z;
    }
    return undefined;
  }

  private state(z: LocallyServedZone, name: Name): LocalZoneState {
    if (this.disabled.has(z.name.key)) return 'disabled';
    if (this.o.hosted?.(z.name)) return 'hosted';
    if (this.o.forwardedBelow?.(name, z.name)) return 'forwarded';
    return 'served';
  }

  /** The local answer to a class IN question, or undefined when the resolver should answer it. */
  answer(q: Question): LocalZoneAnswer | undefined {
    if (q.class !== RRClass.IN) return undefined;
    const z = this.find(q.name);
    if (!z || this.state(z, q.name) !== 'served') return undefined;
    return z.kind === 'redirect' ? redirectAnswer(z, q) : staticAnswer(z, q);
  }

  /** Every default zone with what the server does with it (for `keymaster status`). */
  list(): { zone: string; rfc: string; state: LocalZoneState }[] {
    return [...this.zones.values()].map((z) => ({ zone: z.name.toString(), rfc: z.rfc, state: this.state(z, z.name) }));
  }

  /** Whether `name` is one of the default zones (to check `resolver.localZones.disable`). */
  static isDefault(name: Name): boolean {
    return DEFAULT_LOCALLY_SERVED_ZONES.some((z) => z.name.equals(name));
  }
}

function soaOf(z: LocallyServedZone): ResourceRecord {
  return z.records.find((r) => r.type === RRType.SOA)!;
}

function staticAnswer(z: LocallyServedZone, q: Question): LocalZoneAnswer {
  const at = z.records.filter((r) => r.name.equals(q.name));
  // ANY gets NODATA, as from Unbound's local zones (RFC 8482 lets a server decline ANY).
  const matching = at.filter((r) => r.type === q.type);
  if (matching.length > 0) return { zone: z.name, rcode: Rcode.NOERROR, answer: matching, authority: [] };
  // A name with data, or an empty non-terminal above one (0.0.127.in-addr.arpa.), exists: NODATA.
  const exists = at.length > 0 || z.records.some((r) => r.name.isSubdomainOf(q.name));
  return { zone: z.name, rcode: exists ? Rcode.NOERROR : Rcode.NXDOMAIN, answer: [], authority: [soaOf(z)] };
}

function redirectAnswer(z: LocallyServedZone, q: Question): LocalZoneAnswer {
  if (q.name.equals(z.name)) return staticAnswer(z, q);
  const addresses = z.records.filter((r) => (r.type === RRType.A || r.type === RRType.AAAA) && q.type === r.type);
  if (addresses.length === 0) return { zone: z.name, rcode: Rcode.NOERROR, answer: [], authority: [soaOf(z)] };
  return { zone: z.name, rcode: Rcode.NOERROR, answer: addresses.map((r) => ({ ...r, name: q.name })), authority: [] };
}
