/**
 * The ceiling of Node's dgram on this machine: a bare UDP responder that copies the query, sets
 * QR/AA/RA, and answers with one A record for the question. No parsing beyond finding the end of
 * the question, no cache, no allocation but the reply. `node udp-ceiling.js ADDR PORT`.
 *
 * Run as a separate process by bench/resolver.ts, so dnsperf measures it like a real server.
 */
import dgram from 'node:dgram';

const [address = '127.10.12.3', portText = '53'] = process.argv.slice(2);
const ANSWER_TAIL = Uint8Array.of(0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4, 192, 0, 2, 1);

const socket = dgram.createSocket('udp4');
socket.on('message', (query, rinfo) => {
  if (query.length < 17 || (query[2]! & 0x80) !== 0) return;
  let pos = 12;
  while (pos < query.length && query[pos] !== 0) pos += query[pos]! + 1;
  const questionEnd = pos + 5;
  if (questionEnd > query.length) return;
  const reply = Buffer.allocUnsafe(questionEnd + ANSWER_TAIL.length);
  query.copy(reply, 0, 0, questionEnd);
  reply[2] = query[2]! | 0x84; // QR, AA
  reply[3] = 0x80; // RA, NOERROR
  reply.writeUInt16BE(1, 4);
  reply.writeUInt16BE(1, 6);
  reply.writeUInt32BE(0, 8); // NSCOUNT, ARCOUNT (any OPT is dropped)
  reply.set(ANSWER_TAIL, questionEnd);
  socket.send(reply, rinfo.port, rinfo.address);
});
socket.bind(Number(portText), address, () => process.stdout.write(`ready ${address}:${portText}\n`));
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
