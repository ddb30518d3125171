import type { Question, ResourceRecord } from './message.js';
import { Name } from './name.js';
import { rdataFromText, rdataToText, tokenizeRdata } from './rdata-text.js';
import { RRClass, classToString, tryParseClass, tryParseType, typeToString } from './rr-type.js';
import { parseTtl } from './text-encoding.js';
import { WireError } from './wire-error.js';

/** One record as a zone file line: `owner TTL CLASS TYPE RDATA`, tab separated like dig. */
export function recordToText(rr: ResourceRecord): string {
  return `${rr.name.toString()}\t${rr.ttl}\t${classToString(rr.class)}\t${typeToString(rr.type)}\t${rdataToText(rr.type, rr.rdata)}`;
}

export function questionToText(q: Question): string {
  return `${q.name.toString()}\t\t${classToString(q.class)}\t${typeToString(q.type)}`;
}

/**
 * Parses a single self-contained record line (`owner [TTL] [CLASS] TYPE RDATA`), as the
 * command line and keyset/dsset files give them. No continuation lines; `;` starts a comment.
 */
export function parseRecordLine(line: string, defaults: { ttl?: number; origin?: Name } = {}): ResourceRecord {
  const tokens = tokenizeRdata(stripComment(line));
  if (tokens.length < 2) throw new WireError('bad-text', 'a record needs at least an owner and a type');
  const name = Name.parse(tokens[0]!.text, defaults.origin);
  let ttl: number | undefined;
  let cls: number | undefined;
  let at = 1;
  for (; at < tokens.length; at++) {
    const t = tokens[at]!.text;
    if (ttl === undefined && /^[0-9]/.test(t)) ttl = parseTtl(t);
    else if (cls === undefined && tryParseClass(t) !== undefined) cls = tryParseClass(t);
    else break;
  }
  const typeText = tokens[at]?.text;
  const type = typeText === undefined ? undefined : tryParseType(typeText);
  if (type === undefined) throw new WireError('bad-text', `expected an RR type, found "${typeText ?? ''}"`);
  const rdata = rdataFromText(type, tokens.slice(at + 1), defaults.origin);
  return { name, type, class: cls ?? RRClass.IN, ttl: ttl ?? defaults.ttl ?? 3600, rdata };
}

/** Drops a `;` comment that is not inside quotes or escaped. */
export function stripComment(line: string): string {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\') i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ';' && !quoted) return line.slice(0, i);
  }
  return line;
}
