import type { Clock } from '../clock.js';
import { removeParentFiles } from './key-master.js';
import { type UnsignState, startUnsign, stepUnsign } from './rollover/unsign-sequence.js';
import type { RolloverTimers } from './rollover/rollover-state.js';
import type { DsAtParent } from './rollover/zone-rollover.js';
import type { SigningPolicy } from './signing-policy.js';
import { logDnssecEvent, type Logger } from '../logging/logger.js';
import type { Name } from '../wire/name.js';

/**
 * The safe unsign's steps for the zone service (the sequence itself is
 * authority/rollover/unsign-sequence.ts): begun by `zone unsign`, moved on by the rollover timer,
 * finished by serving the zone unsigned and removing what signing left for others.
 */

/** A zone as the unsign sees it. */
export interface UnsigningZone {
  readonly name: Name;
  readonly policy: SigningPolicy | undefined;
  unsigning: UnsignState | undefined;
}

/** What the zone service does for the unsign: its own signing, recording and DS steps. */
export interface UnsignHost<Z extends UnsigningZone> {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly serverName: string;
  readonly stateDir: string;
  readonly timers: RolloverTimers;
  readonly dsAtParent: DsAtParent | undefined;
  /** The zone's DS at a parent hosted here (`dsTtl` undefined: none), or undefined when the parent is elsewhere. */
  localParentDs(zone: Z): { readonly dsTtl: number | undefined } | undefined;
  /** Serves `next` signed (with the delete signal), records it, moves the serial and the DS around; throws leaving `zone` served. */
  serveSigned(zone: Z, next: Z): Promise<void>;
  /** Records the zone's state (zones.json). */
  save(zone: Z): Promise<void>;
  /** Serves the zone unsigned, records it so, and brings the DS around it along; returns what is served. */
  serveUnsigned(zone: Z): Promise<Z>;
  readonly withdrawTrustAnchor?: (zone: Name) => void;
}

/** `zone unsign`: starts the sequence (or, `now`, unsigns at once). Returns the zone as served. */
export async function beginUnsign<Z extends UnsigningZone>(host: UnsignHost<Z>, zone: Z, now: boolean): Promise<Z> {
  const name = zone.name.toString();
  if (now) {
    if (!zone.unsigning) logDnssecEvent(host.logger, 'zone.unsign-started', { zone: name, server: host.serverName, now: true }, { msg: `unsigning ${name} at once (zone unsign --now): no wait for the DS to leave caches` });
    return finishUnsign(host, zone);
  }
  if (zone.unsigning) return zone;
  const state = startUnsign(host.clock.now(), host.timers, zone.policy!.dsTtl, host.localParentDs(zone));
  const next = { ...zone, unsigning: state };
  await host.serveSigned(zone, next);
  logDnssecEvent(host.logger, 'zone.unsign-started', { zone: name, server: host.serverName, ...state }, { msg: `started to unsign ${name}: the DS goes first; the DNSSEC records go at ${state.removeAt ?? 'the DS TTL after the parent drops the DS'}` });
  return next;
}

/** One step on the rollover timer; the DNSSEC records go once the DS is out of every cache. Returns when to look again. */
export async function continueUnsign<Z extends UnsigningZone>(host: UnsignHost<Z>, zone: Z): Promise<number | undefined> {
  const before = zone.unsigning!;
  const step = await stepUnsign(zone.name, before, host.clock.now(), host.timers, host.dsAtParent);
  if ('finish' in step) {
    await finishUnsign(host, zone);
    return undefined;
  }
  if (!step.changed) return step.wakeAt;
  zone.unsigning = step.state;
  await host.save(zone);
  if (step.state.stage !== before.stage)
    logDnssecEvent(host.logger, 'zone.unsign-stage', { zone: zone.name.toString(), ...step.state }, { msg: `the parent of ${zone.name.toString()} no longer has its DS; DNSSEC records go at ${step.state.removeAt}` });
  return step.wakeAt;
}

/** The last step: the DNSSEC records, the dsset-/keyset- files and the distributed trust anchor go. */
async function finishUnsign<Z extends UnsigningZone>(host: UnsignHost<Z>, zone: Z): Promise<Z> {
  const served = await host.serveUnsigned(zone);
  const removed = await removeParentFiles(host.stateDir, zone.name);
  if (zone.policy?.distributeTrustAnchor) host.withdrawTrustAnchor?.(zone.name);
  logDnssecEvent(host.logger, 'zone.unsigned', { zone: zone.name.toString(), removedFiles: removed, ...(zone.unsigning ? { startedAt: zone.unsigning.startedAt } : {}) }, { msg: `zone ${zone.name.toString()} unsigned` });
  return served;
}
