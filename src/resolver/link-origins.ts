import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { ServerAddress } from './dns-transport.js';
import { serverKey } from './upstream-client.js';

/** An RRset's key among a resolution's links: its owner and type. */
export const rrsetKey = (name: Name, type: number) => `${name.key}/${type}`;
/** The key of the negative answer at the end of a chain. */
export const DENIAL_LINK = 'denial';

/** Where each link of a resolution came from, as the fields `Resolution` carries. */
export interface LinkOriginFields {
  readonly local?: boolean;
  readonly hostedLinks?: ReadonlySet<string>;
  readonly hostedDenial?: boolean;
  readonly servers?: readonly ServerAddress[];
  readonly servedBy?: ReadonlyMap<string, ServerAddress>;
}

/**
 * Per link of a CNAME/DNAME chain: answered by a zone this server hosts (trusted, not validated)
 * or by which upstream server (so a bogus link is asked again of that zone's other servers).
 * Locality is per link, never for the whole chain: the links around a hosted one are validated.
 */
export class LinkOrigins {
  private readonly hosted = new Set<string>();
  private hostedDenial = false;
  private readonly servedBy = new Map<string, ServerAddress>();

  /** One step of the resolution: its records (or the negative answer), whether hosted, which server. */
  note(records: readonly ResourceRecord[] | typeof DENIAL_LINK, local: boolean | undefined, server: ServerAddress | undefined): void {
    const keys = records === DENIAL_LINK ? [DENIAL_LINK] : records.filter((r) => r.type !== RRType.RRSIG).map((r) => rrsetKey(r.name, r.type));
    for (const key of keys) {
      if (local && key === DENIAL_LINK) this.hostedDenial = true;
      else if (local) this.hosted.add(key);
      if (server) this.servedBy.set(key, server);
    }
  }

  fields(): LinkOriginFields {
    const servers = new Map([...this.servedBy.values()].map((s) => [serverKey(s), s]));
    return {
      ...(this.hosted.size > 0 || this.hostedDenial ? { local: true, hostedLinks: this.hosted } : {}),
      ...(this.hostedDenial ? { hostedDenial: true } : {}),
      ...(servers.size > 0 ? { servers: [...servers.values()], servedBy: this.servedBy } : {}),
    };
  }
}
