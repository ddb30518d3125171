import type { TextToken } from './rdata-text.js';
import { ZoneFileError } from './zone-file-error.js';

/**
 * One logical entry of a master file (RFC 1035 §5.1): a directive or a record, which may
 * span lines inside parentheses. Tokens keep their backslash escapes, as `rdataFromText`
 * and `Name.parse` expect them.
 */
export interface ZoneEntry {
  /** The line the entry starts on (1-based). */
  readonly line: number;
  /** The entry's first line starts with a blank: the owner is the previous one. */
  readonly ownerOmitted: boolean;
  readonly tokens: readonly TextToken[];
}

function isBlank(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';
}

/** Characters that end an unquoted token, as in BIND's master-file lexer. */
function endsToken(c: string): boolean {
  return isBlank(c) || c === '\n' || c === ';' || c === '(' || c === ')' || c === '"';
}

/**
 * Splits master-file text into entries. Rules (RFC 1035 §5.1, with BIND's lexer where the
 * RFC is silent):
 * - `;` outside quotes starts a comment up to the end of the line; `\;` is a literal.
 * - `(` and `)` outside quotes group lines: newlines inside them are blanks. They also end
 *   a token, as `"` does (`foo"bar"` is two tokens, as BIND reads it).
 * - A quoted string ends at the next unescaped `"` on the same line; an escaped newline
 *   inside it is kept (it reads as byte 10), a bare one is an "unterminated quoted string".
 * - `key="value"` is one token with its quotes (RFC 9460 SvcParams; BIND's qvpair).
 * - A backslash at the end of a line outside quotes is an error.
 */
export function* zoneEntries(text: string, fileName: string): Generator<ZoneEntry> {
  const n = text.length;
  let i = 0;
  let line = 1;
  let depth = 0;
  let openLine = 0;
  let tokens: TextToken[] = [];
  let entryLine = 0;
  let ownerOmitted = false;
  let lineStartsBlank = n > 0 && isBlank(text[0]!);

  const fail = (at: number, reason: string): never => {
    throw new ZoneFileError(fileName, at, reason);
  };

  /** Reads a quoted string starting after its opening quote; returns its inside. */
  const readQuoted = (): string => {
    const startLine = line;
    let s = '';
    for (;;) {
      if (i >= n) fail(startLine, 'unterminated quoted string');
      const ch = text[i]!;
      if (ch === '\\') {
        if (i + 1 >= n) fail(line, 'backslash at the end of the file');
        const next = text[i + 1]!;
        if (next === '\n') line++;
        s += ch + next;
        i += 2;
        continue;
      }
      if (ch === '\n') fail(startLine, 'unterminated quoted string');
      i++;
      if (ch === '"') return s;
      s += ch;
    }
  };

  const startEntry = () => {
    if (tokens.length === 0 && entryLine === 0) {
      entryLine = line;
      ownerOmitted = lineStartsBlank;
    }
  };

  while (i < n) {
    const c = text[i]!;
    if (c === '\n') {
      i++;
      line++;
      if (depth === 0) {
        if (tokens.length > 0) yield { line: entryLine, ownerOmitted, tokens };
        tokens = [];
        entryLine = 0;
        lineStartsBlank = i < n && isBlank(text[i]!);
      }
      continue;
    }
    if (isBlank(c)) {
      i++;
      continue;
    }
    if (c === ';') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    startEntry();
    if (c === '(') {
      if (depth === 0) openLine = line;
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      if (depth === 0) fail(line, 'unbalanced parentheses: ")" without "("');
      depth--;
      i++;
      continue;
    }
    if (c === '"') {
      i++;
      tokens.push({ text: readQuoted(), quoted: true });
      continue;
    }
    let s = '';
    while (i < n) {
      const ch = text[i]!;
      if (ch === '\\') {
        if (i + 1 >= n || text[i + 1] === '\n' || text[i + 1] === '\r') fail(line, 'backslash at the end of a line');
        s += ch + text[i + 1]!;
        i += 2;
        continue;
      }
      if (ch === '"' && s.endsWith('=') && !s.endsWith('\\=')) {
        i++;
        s += `"${readQuoted()}"`;
        break;
      }
      if (endsToken(ch)) break;
      s += ch;
      i++;
    }
    tokens.push({ text: s, quoted: false });
  }
  if (depth > 0) fail(openLine, 'unbalanced parentheses: "(" is never closed');
  if (tokens.length > 0) yield { line: entryLine, ownerOmitted, tokens };
}
