import { defaultEdns } from '../wire/edns.js';
import { encodeMessage } from '../wire/message-encoder.js';
import { type Message, Rcode, type ResourceRecord, newMessage } from '../wire/message.js';
import { RRType } from '../wire/rr-type.js';
import { extractTsig, signTsigResponse, TsigFormatError, type TsigKey, verifyTsig } from './tsig.js';
import { keyFinder } from './tsig-keyring.js';

/** The most a UDP answer may be (as the query pipeline), less room for the TSIG RR. */
const MAX_UDP = 1232;
const TSIG_ROOM = 200;

export function hasTsig(request: Message): boolean {
  return request.additional.some((r) => r.type === RRType.TSIG);
}

/**
 * The answer to a TSIG-signed query for a hosted zone (a secondary's SOA check before a
 * transfer): RFC 8945 §5.3 wants a signed request answered signed, so it is encoded here and
 * signed over the request's MAC; a request whose TSIG fails gets NOTAUTH with the TSIG error.
 */
export function signedAnswer(
  wire: Uint8Array,
  request: Message,
  transport: 'udp' | 'tcp',
  fields: { readonly rcode: number; readonly aa: boolean; readonly answer: readonly ResourceRecord[]; readonly authority: readonly ResourceRecord[]; readonly additional: readonly ResourceRecord[] },
  keyring: ReadonlyMap<string, TsigKey>,
  now: number,
): Uint8Array {
  let verification;
  try {
    const signed = extractTsig(new Uint8Array(wire));
    verification = signed ? verifyTsig(signed, keyFinder(keyring), now) : undefined;
  } catch (error) {
    if (!(error instanceof TsigFormatError)) throw error;
    return encodeMessage(newMessage({ id: request.id, qr: true, opcode: request.opcode, rcode: Rcode.FORMERR, question: request.question }));
  }
  const ok = verification?.ok === true;
  const response = newMessage({
    id: request.id,
    qr: true,
    opcode: request.opcode,
    rd: request.rd,
    cd: request.cd,
    question: request.question,
    ...(ok ? { aa: fields.aa, rcode: fields.rcode, answer: [...fields.answer], authority: [...fields.authority], additional: [...fields.additional] } : { rcode: Rcode.NOTAUTH }),
  });
  if (request.edns) response.edns = defaultEdns({ dnssecOk: request.edns.dnssecOk });
  const udpSize = request.edns ? Math.max(512, Math.min(request.edns.udpSize, MAX_UDP)) : 512;
  const encoded = encodeMessage(response, { maxSize: transport === 'tcp' ? 0xffff - TSIG_ROOM : udpSize - TSIG_ROOM });
  return verification ? signTsigResponse(encoded, verification, now) : encoded;
}
