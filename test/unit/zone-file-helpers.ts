import { spawnSync } from 'node:child_process';
import { haveTool } from '../support/external-servers.js';
import { expect } from 'vitest';
import { type ResourceRecord, ZoneFileError, classToString, typeToString } from '../../src/wire/index.js';

/** One record as a comparable string: owner key (case-folded), type, class, TTL, RDATA bytes. */
export function recordKey(rr: ResourceRecord): string {
  return `${rr.name.toString().toLowerCase()}|${typeToString(rr.type)}|${classToString(rr.class)}|${rr.ttl}|${Buffer.from(rr.rdata).toString('hex')}|${Buffer.from(rr.name.key, 'latin1').toString('hex')}`;
}

export function recordSet(records: readonly ResourceRecord[]): string[] {
  return [...new Set(records.map(recordKey))].sort();
}

/** Runs `fn` and checks it throws a ZoneFileError at `fileName:line` whose reason matches. */
export function expectZoneError(fn: () => unknown, fileName: string, line: number, reason: RegExp | string): ZoneFileError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a ZoneFileError').toBeInstanceOf(ZoneFileError);
  const err = caught as ZoneFileError;
  expect({ fileName: err.fileName, line: err.line }).toEqual({ fileName, line });
  if (typeof reason === 'string') expect(err.reason).toContain(reason);
  else expect(err.reason).toMatch(reason);
  expect(err.message).toBe(line > 0 ? `${fileName}:${line}: ${err.reason}` : `${fileName}: ${err.reason}`);
  return err;
}

/** True when `command` can be run (BIND's tools come from Debian's bind9-utils / bind9); on CI a missing one fails. */
export const haveCommand = haveTool;

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a tool, returning its output as Latin-1 (bytes preserved). */
export function run(command: string, args: readonly string[], cwd?: string): RunResult {
  const r = spawnSync(command, args, { cwd, encoding: 'latin1', timeout: 60_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs a tool that must succeed; its stderr is in the failure message. */
export function runOk(command: string, args: readonly string[], cwd?: string): string {
  const r = run(command, args, cwd);
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}:\n${r.stderr}${r.stdout}`);
  return r.stdout;
}
