import type { Message, ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';

/** What the zones read of the client a message came from (the server's ClientInfo has more). */
export interface ZoneClient {
  /** IPv4-mapped IPv6 normalised to IPv4. */
  readonly address: string;
  readonly transport: 'udp' | 'tcp' | 'tls' | 'https';
}

/** A local zone's response: flags and sections (the pipeline fills the header), or a zone transfer's messages. */
export type LocalZoneResponse =
  | {
      readonly kind: 'answer';
      readonly rcode: number;
      readonly aa: boolean;
      readonly answer: ResourceRecord[];
      readonly authority: ResourceRecord[];
      readonly additional: ResourceRecord[];
      readonly ede?: readonly (readonly [number, string])[];
      /** The wildcard that answered, if one did (for response rate limiting). */
      readonly wildcard?: Name;
    }
  | { readonly kind: 'transfer'; readonly messages: readonly Message[] }
  /** Encoded already (a zone transfer or its refusal, TSIG-signed when asked): one message over UDP. */
  | { readonly kind: 'wire'; readonly messages: readonly Uint8Array[]; readonly stream: boolean };
