import { type Message, Rcode, type ResourceRecord, newMessage } from '../wire/message.js';
import type { IxfrVersion } from './ixfr-journal.js';
import type { ZoneData } from './zone-db.js';

/**
 * Bytes of records per transfer message before a new one is started. Names are counted
 * uncompressed, so the encoded message is smaller; 16 KiB keeps each under the 64 KiB TCP
 * limit with room for the question and OPT, and gives the secondary something to parse early.
 */
export const TRANSFER_MESSAGE_BUDGET = 16 * 1024;

function recordSize(rr: ResourceRecord): number {
  return rr.name.length + 10 + rr.rdata.length;
}

/**
 * The AXFR response stream of RFC 5936 §2.2: the SOA, every other record of the zone (RRSIGs,
 * NSEC/NSEC3 and glue included), the SOA again, packed into as few messages as fit the
 * budget. Every message copies the query's ID; only the first repeats the question (§2.2.1).
 * An IXFR request gets the same stream, which RFC 1995 §4 allows as its answer.
 */
export function axfrMessages(zone: ZoneData, request: Message, budget = TRANSFER_MESSAGE_BUDGET): Message[] {
  const records = zone.records();
  records.push(zone.soa);
  return transferMessages(records, request, budget);
}

/**
 * The incremental IXFR answer of RFC 1995 §4: the current SOA, then per version the old SOA,
 * the records deleted, the new SOA, the records added, and the current SOA again to close.
 */
export function ixfrMessages(current: ResourceRecord, versions: readonly IxfrVersion[], request: Message, budget = TRANSFER_MESSAGE_BUDGET): Message[] {
  const records: ResourceRecord[] = [current];
  for (const v of versions) records.push(v.fromSoa, ...v.removed, v.toSoa, ...v.added);
  records.push(current);
  return transferMessages(records, request, budget);
}

/** Records packed into transfer messages of at most `budget` bytes each. */
export function transferMessages(records: readonly ResourceRecord[], request: Message, budget = TRANSFER_MESSAGE_BUDGET): Message[] {
  const messages: Message[] = [];
  let current: ResourceRecord[] = [];
  let size = 0;
  const flush = () => {
    messages.push(
      newMessage({
        id: request.id,
        qr: true,
        aa: true,
        opcode: request.opcode,
        question: messages.length === 0 ? request.question : [],
        answer: current,
      }),
    );
    current = [];
    size = 0;
  };
  for (const rr of records) {
    const n = recordSize(rr);
    if (current.length > 0 && size + n > budget) flush();
    current.push(rr);
    size += n;
  }
  flush();
  return messages;
}

/** A one-message refusal of a transfer (RFC 5936 §2.2: REFUSED, or NOTAUTH for a zone we do not have). */
export function transferRefusal(request: Message, rcode: number = Rcode.REFUSED): Message {
  return newMessage({ id: request.id, qr: true, opcode: request.opcode, rcode, question: request.question });
}
