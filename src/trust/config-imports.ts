import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { logEvent, type Logger } from '../logging/logger.js';
import { keyFileNameInfo } from '../wire/key-files.js';
import { logAnchorAdded } from './anchor-events.js';
import { AnchorInputError, mergeAnchors, readKeyFileAnchors } from './anchor-import.js';
import { sourceOf } from './anchor-source.js';
import type { TrustAnchorStore } from './trust-anchor-store.js';
import { zoneKey } from './trust-point.js';

/**
 * `trustAnchors.import` as a bootstrap, like the root from root-anchors.xml: a keyset-/dsset-
 * file's anchors are imported once, and the store remembers the file and a SHA-256 of its bytes.
 * At later starts an unchanged file is left alone, so what the operator (`trust-point remove`,
 * `trust-anchor remove`) or RFC 5011 (a trust point whose keys were all revoked) did since stays
 * done. A changed file, or an entry added back to the config, is imported again (its anchors
 * merged into the trust point, which is created again if it was removed). An entry dropped from
 * the config is forgotten; its trust point stays until the operator removes it.
 *
 * Bad input never stops the start: a record unfit as an anchor is refused with a warning naming
 * the file and line, the rest of the file is imported; a file that cannot be read at all is
 * warned about and, if its zone has no trust point, the zone gets an empty one, so the validator
 * fails closed (bogus) under it instead of treating it as unsigned.
 */
export async function applyConfigImports(store: TrustAnchorStore, files: readonly string[], now: number, logger: Logger): Promise<void> {
  for (const file of files) await applyConfigImport(store, file, now, logger);
  for (const record of store.configImports()) {
    if (files.includes(record.file)) continue;
    store.setConfigImport(record.file, undefined);
    logEvent(logger, 'trust-anchor.import-forgotten', { file: record.file, zone: record.zone }, { msg: 'no longer in trustAnchors.import; its trust point stays until removed' });
  }
}

async function applyConfigImport(store: TrustAnchorStore, file: string, now: number, logger: Logger): Promise<void> {
  // The config schema only lets through names of the BIND form (keyset-ZONE, dsset-ZONE).
  const info = keyFileNameInfo(file)!;
  const zone = zoneKey(info.zone);
  const failClosed = (error: string) => {
    logEvent(logger, 'trust-anchor.import-failed', { file, zone, error }, { level: 'warn', msg: `trustAnchors.import: ${error}` });
    if (store.get(zone)) return;
    store.put({ zone, anchors: [], createdAt: now, failures: 0 });
    logEvent(logger, 'trust-point.fail-closed', { zone, file }, { level: 'warn', msg: `${zone} has no usable anchor: answers under it are bogus until the file is fixed` });
  };
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    return failClosed(`cannot read ${file}: ${(error as Error).message}`);
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const before = store.configImport(file);
  if (before?.sha256 === sha256) {
    logEvent(logger, 'trust-anchor.import-unchanged', { file, zone, importedAt: new Date(before.importedAt).toISOString() }, { level: 'debug' });
    return;
  }
  let read;
  try {
    read = readKeyFileAnchors(info.kind, bytes.toString('latin1'), file, now, sourceOf('config-import', file));
  } catch (error) {
    if (!(error instanceof AnchorInputError)) throw error;
    return failClosed(error.message);
  }
  for (const problem of read.rejected) logEvent(logger, 'trust-anchor.import-rejected', { file, zone, problem }, { level: 'warn', msg: `trustAnchors.import: ${problem}; record ignored` });
  const merged = mergeAnchors(store.get(zone), read, now);
  store.put(merged.trustPoint);
  store.setConfigImport(file, { file, sha256, zone, importedAt: now });
  for (const a of merged.added) logAnchorAdded(logger, zone, a, `imported from ${file}`);
  logEvent(logger, 'trust-anchor.imported', { file, zone, added: merged.added.length, skipped: merged.skipped.length, rejected: read.rejected.length, firstImport: before === undefined });
  if (merged.trustPoint.anchors.length === 0) logEvent(logger, 'trust-point.fail-closed', { zone, file }, { level: 'warn', msg: `${zone} has no usable anchor: answers under it are bogus until the file is fixed` });
}
