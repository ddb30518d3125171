import { EdeCode } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, Rcode, type ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { answerFromZone } from './authoritative-answer.js';
import type { PrimaryTransfers, TransferClient } from './primary-transfers.js';
import type { SecondaryZones } from './secondary-zones.js';
import { hasTsig, signedAnswer } from './signed-answer.js';
import type { TsigKey } from './tsig.js';

/** What the query path gets for a question in a secondary zone (the pipeline's LocalZoneResponse shapes). */
export type SecondaryResponse =
  | { readonly kind: 'answer'; readonly rcode: number; readonly aa: boolean; readonly answer: ResourceRecord[]; readonly authority: ResourceRecord[]; readonly additional: ResourceRecord[]; readonly ede?: readonly (readonly [number, string])[] }
  | { readonly kind: 'wire'; readonly messages: readonly Uint8Array[]; readonly stream: boolean };

/**
 * A question for a name in secondary zone `zone`: answered from the copy as transferred (its
 * DNSSEC records as they came), SERVFAIL with EDE Not Ready while there is no copy or it
 * expired; AXFR/IXFR of it to the clients its ACL admits (a chain of secondaries).
 */
export function secondaryAnswer(
  o: { readonly secondaries: SecondaryZones; readonly transfers: PrimaryTransfers; readonly keyring: ReadonlyMap<string, TsigKey>; readonly dnssec: boolean; readonly now: number },
  zone: Name,
  request: Message,
  client: TransferClient,
  wire: Uint8Array | undefined,
): SecondaryResponse {
  const q = request.question[0]!;
  const data = o.secondaries.served(zone);
  if (!data) {
    const view = o.secondaries.show(zone);
    const why = view?.serial === null ? 'has not been transferred yet' : `expired at ${view?.expires}: no primary reached`;
    return { kind: 'answer', rcode: Rcode.SERVFAIL, aa: false, answer: [], authority: [], additional: [], ede: [[EdeCode.NOT_READY, `secondary zone ${zone.toString()} ${why}`]] };
  }
  if (q.type === RRType.AXFR || q.type === RRType.IXFR) {
    if (!q.name.equals(zone)) return { kind: 'answer', rcode: Rcode.NOTAUTH, aa: false, answer: [], authority: [], additional: [], ede: [[EdeCode.NOT_AUTHORITATIVE, `${q.name.toString()} is not a zone apex here`]] };
    return { kind: 'wire', ...o.transfers.respond(zone, data, wire ?? encodeMessage(request), request, client) };
  }
  const a = answerFromZone(data, q.name, q.type, o.dnssec && (request.edns?.dnssecOk ?? false));
  if (wire && hasTsig(request)) return { kind: 'wire', messages: [signedAnswer(wire, request, client.transport, a, o.keyring, o.now)], stream: false };
  return { kind: 'answer', ...a };
}
