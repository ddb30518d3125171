import { type Message, Rcode, type ResourceRecord, newMessage } from '../wire/message.js';
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
