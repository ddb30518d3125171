import { edeCodeToString, extendedErrors } from '../wire/edns.js';
import { type Message, type ResourceRecord, opcodeToString, rcodeToString } from '../wire/message.js';
import { rdataToText } from '../wire/rdata-text.js';
import { questionToText, recordToText } from '../wire/record-text.js';
import { classToString, typeToString } from '../wire/rr-type.js';

const FLAG_ORDER = ['qr', 'aa', 'tc', 'rd', 'ra', 'ad', 'cd'] as const;

function setFlags(m: Message): string[] {
  return FLAG_ORDER.filter((f) => m[f]);
}

/** The response the way dig prints it, so operators read it without learning a new layout. */
export function formatDig(m: Message, meta: { server: string; transport: string; elapsedMs: number; size: number }): string {
  const out: string[] = [];
  out.push(`;; ->>HEADER<<- opcode: ${opcodeToString(m.opcode)}, status: ${rcodeToString(m.rcode)}, id: ${m.id}`);
  out.push(
    `;; flags: ${setFlags(m).join(' ')}; QUERY: ${m.question.length}, ANSWER: ${m.answer.length}, ` +
      `AUTHORITY: ${m.authority.length}, ADDITIONAL: ${m.additional.length + (m.edns ? 1 : 0)}`,
  );
  if (m.edns) {
    out.push('', ';; OPT PSEUDOSECTION:');
    out.push(`; EDNS: version: ${m.edns.version}, flags:${m.edns.dnssecOk ? ' do' : ''}; udp: ${m.edns.udpSize}`);
    for (const e of extendedErrors(m.edns))
      out.push(`; EDE: ${e.infoCode} (${edeCodeToString(e.infoCode)})${e.extraText ? `: (${e.extraText})` : ''}`);
  }
  out.push('', ';; QUESTION SECTION:');
  for (const q of m.question) out.push(';' + questionToText(q));
  const section = (title: string, rrs: ResourceRecord[]) => {
    if (rrs.length === 0) return;
    out.push('', `;; ${title} SECTION:`);
    for (const rr of rrs) out.push(recordToText(rr));
  };
  section('ANSWER', m.answer);
  section('AUTHORITY', m.authority);
  section('ADDITIONAL', m.additional);
  out.push('', `;; Query time: ${Math.round(meta.elapsedMs)} msec`);
  out.push(`;; SERVER: ${meta.server}(${meta.transport.toUpperCase()})`);
  out.push(`;; WHEN: ${new Date().toUTCString()}`);
  out.push(`;; MSG SIZE  rcvd: ${meta.size}`);
  return out.join('\n') + '\n';
}

function recordJson(rr: ResourceRecord) {
  return { name: rr.name.toString(), ttl: rr.ttl, class: classToString(rr.class), type: typeToString(rr.type), data: rdataToText(rr.type, rr.rdata) };
}

export function messageJson(m: Message) {
  return {
    id: m.id,
    opcode: opcodeToString(m.opcode),
    status: rcodeToString(m.rcode),
    flags: Object.fromEntries(FLAG_ORDER.map((f) => [f, m[f]])),
    edns: m.edns && {
      version: m.edns.version,
      udpSize: m.edns.udpSize,
      do: m.edns.dnssecOk,
      ede: extendedErrors(m.edns).map((e) => ({ code: e.infoCode, purpose: edeCodeToString(e.infoCode), text: e.extraText })),
    },
    question: m.question.map((q) => ({ name: q.name.toString(), class: classToString(q.class), type: typeToString(q.type) })),
    answer: m.answer.map(recordJson),
    authority: m.authority.map(recordJson),
    additional: m.additional.map(recordJson),
  };
}
