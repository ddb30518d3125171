import type { Clock } from '../clock.js';
import { logDnssecEvent, type Logger } from '../logging/logger.js';
import type { JobHandle, Scheduler } from '../scheduler.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { serialChange } from './dynamic-update.js';
import { keyMasterChangeRefusal } from './key-master.js';
import { purgeRetiredKeys } from './key-purge.js';
import type { KeyStore } from './key-store.js';
import type { ParentDsSync } from './parent-ds-sync.js';
import { RolloverRequestError } from './rollover/rollover-engine.js';
import { maxZoneTtl } from './rollover/rollover-keys.js';
import { loweredRolloverTimers } from './rollover/rollover-state.js';
import type { DsAtParent, RolloverZone, ZoneRollover } from './rollover/zone-rollover.js';
import type { ZoneCatalog } from './zone-catalog.js';
import type { ZoneEntry } from './zone-entry.js';
import { ZoneError } from './zone-error.js';
import { keyLogFields } from './zone-key-view.js';
import type { ZoneKeyAuthority } from './zone-key-authority.js';
import type { ZoneSigning } from './zone-signing.js';
import { type UnsignHost, continueUnsign } from './zone-unsign.js';

/** A failed zone is tried again after this long; the job runs at least this often; a zone is looked at at least hourly. */
const ROLLOVER_RETRY_MS = 5 * 60_000;
const ROLLOVER_MAX_SLEEP_MS = 60_000;
const ROLLOVER_RECHECK_MS = 3600_000;

export interface RolloverDriverOptions {
  readonly catalog: ZoneCatalog;
  readonly signing: ZoneSigning;
  readonly parentDs: ParentDsSync;
  readonly rollover: ZoneRollover;
  readonly store: KeyStore;
  readonly stateDir: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Runs the rollover job (src/scheduler.ts); in tests, `mode: 'manual'`. */
  readonly scheduler: Scheduler;
  readonly onZoneChanged?: ((zone: Name) => void) | undefined;
  /** The zone was unsigned: the trust point given to this server for it goes too. */
  readonly onTrustAnchorsWithdrawn?: ((zone: Name) => void) | undefined;
  /** Cluster mode: the zone's Key Master role; no rollover step is tried while this server's hold on it is in doubt. */
  readonly keyAuthority?: ZoneKeyAuthority | undefined;
}

/**
 * Key rollover (src/authority/rollover/) as a job of the scheduler for every zone this server is the Key
 * Master of: a full re-sign and a serial bump when the key set changes, the DS in a parent zone
 * hosted here kept equal to the child's, `zone roll` and `zone step-rollover`, and the steps of
 * a safe unsign (zone-unsign.ts), which wait on the same job.
 */
export class RolloverDriver {
  /** When each zone's rollovers are next due (ms). */
  private readonly rolloverDue = new Map<string, number>();
  private job: JobHandle | undefined;

  constructor(private readonly o: RolloverDriverOptions) {}

  /** At start: warn about lowered timers, bring the DS of local children in local parents up to date. */
  async startState(): Promise<void> {
    const lowered = loweredRolloverTimers(this.o.rollover.timers);
    if (lowered.length > 0)
      logDnssecEvent(this.o.logger, 'key.rollover-timers-lowered', { timers: Object.fromEntries(lowered.map((k) => [k, this.o.rollover.timers[k]])) }, { msg: `key rollover timers lowered below the RFC values (${lowered.join(', ')}): for test labs only` });
    for (const entry of [...this.o.catalog.zones.values()]) await this.o.parentDs.sync(entry.name);
  }

  /** The zone as the rollover driver sees it, or undefined when it does not roll here (unsigned, or another Key Master). */
  private rolloverZone(entry: ZoneEntry): RolloverZone | undefined {
    if (!entry.policy || entry.unsigning || keyMasterChangeRefusal(entry.name.toString(), entry.keyMaster, this.o.catalog.serverName, true)) return undefined;
    if (this.o.keyAuthority && !this.o.keyAuthority.isHeld(entry.name.lowercase().toString())) return undefined;
    const name = entry.name;
    const local = this.o.catalog.localParentOf(entry);
    return {
      name,
      policy: entry.policy,
      maxZoneTtl: maxZoneTtl(entry.unsigned.unsignedRecords(), entry.policy.dnskeyTtl),
      resign: () => this.resignForRollover(name),
      // A parent hosted here is read directly: its data is what this server answers.
      ...(local
        ? {
            dsAtParent: async () => {
              const ds = this.o.catalog.zones.get(local.name.toString())?.served.rrset(name, RRType.DS)?.records ?? [];
              return { ds: ds.map((r) => r.rdata), ttl: ds[0]?.ttl ?? 0 };
            },
          }
        : {}),
    };
  }

  /** Re-signs a zone whose key set changed, moves its serial on (secondaries must transfer it), and updates the DS at a local parent. */
  private async resignForRollover(name: Name): Promise<void> {
    const e = this.o.catalog.zones.get(name.toString());
    if (!e?.policy) return;
    const next: ZoneEntry = { ...e };
    await this.o.signing.install(next, e.policy, 'key rollover'); // throws: nothing served changed, the driver undoes its writes; moves the serial on
    await this.o.parentDs.around(next);
  }

  /** Runs every zone's rollovers that are due at the clock's now; returns when to run again (ms). */
  async run(): Promise<number | undefined> {
    let wake: number | undefined;
    for (const zone of [...this.o.catalog.zones.keys()]) {
      const at = await this.o.catalog.serialize(async () => {
        const entry = this.o.catalog.zones.get(zone);
        if (entry?.unsigning)
          return continueUnsign(this.unsignHost, entry).catch((error: Error) => {
            logDnssecEvent(this.o.logger, 'key.rollover-error', { zone, error: error.message }, { msg: `unsigning ${zone} failed at this step; the zone is served as it was, retried later` });
            return this.o.clock.now() + ROLLOVER_RETRY_MS;
          });
        const rz = entry && this.rolloverZone(entry);
        if (!rz) return undefined;
        // A zone is looked at when the engine said, and at least hourly (its keys are read from disk).
        const due = this.rolloverDue.get(zone);
        if (due !== undefined && due > this.o.clock.now()) return due;
        try {
          const next = (await this.o.rollover.run(rz)).wakeAt;
          await this.purgeRetiredKeys(rz.name);
          this.rolloverDue.set(zone, Math.min(next ?? Infinity, this.o.clock.now() + ROLLOVER_RECHECK_MS));
          return next;
        } catch (error) {
          logDnssecEvent(this.o.logger, 'key.rollover-error', { zone, error: (error as Error).message }, { msg: `key rollover of ${zone} failed; keys and zone as they were, retried later` });
          return this.o.clock.now() + ROLLOVER_RETRY_MS;
        }
      });
      if (at !== undefined && (wake === undefined || at < wake)) wake = at;
    }
    return wake;
  }

  /** Deletes the zone's keys retired longer than `dnssec.rollover.retiredKeyRetention` (key-purge.ts), each logged. */
  private async purgeRetiredKeys(zone: Name): Promise<void> {
    for (const { metadata: m, error } of await purgeRetiredKeys(this.o.store, zone, this.o.clock.now(), this.o.rollover.timers.retiredKeyRetention)) {
      const fields = { zone: zone.toString(), ...keyLogFields(m), retiredAt: m.retired ?? null };
      if (error) logDnssecEvent(this.o.logger, 'zone.key-purge-failed', { ...fields, error }, { msg: `retired key ${m.keyTag} of ${zone.toString()} not deleted; tried again later` });
      else logDnssecEvent(this.o.logger, 'zone.key-purged', fields, { msg: `retired key ${m.keyTag} of ${zone.toString()} deleted after the retention period` });
    }
  }

  /** Runs the rollovers as a job of the scheduler (at the engine's next time, at least every minute); `dsAtParent` from the server's resolver. */
  start(options: { dsAtParent?: DsAtParent } = {}): void {
    if (options.dsAtParent) this.o.rollover.dsAtParent = options.dsAtParent;
    if (this.job) return;
    this.job = this.o.scheduler.schedule('zone.rollover', this.o.clock.now(), async () => {
      const wake = await this.run();
      const now = this.o.clock.now();
      return Math.min(ROLLOVER_MAX_SLEEP_MS + now, Math.max(now + 10, wake ?? Infinity));
    });
  }

  /** Runs the rollovers again soon (a roll was asked for, a zone was signed: the next wake-up may be earlier). */
  wake(): void {
    this.rolloverDue.clear();
    this.job?.reschedule(this.o.clock.now());
  }

  stop(): void {
    this.job?.cancel();
    this.job = undefined;
  }

  async request(zone: string, work: (rz: RolloverZone) => Promise<unknown>): Promise<void> {
    await this.o.catalog.serialize(async () => {
      const e = this.o.catalog.entry(zone);
      const rz = this.rolloverZone(e);
      if (!rz) throw new ZoneError(e.policy ? 'not-key-master' : 'not-signed', `zone ${e.name.toString()} ${e.policy ? 'is not rolled by this server (not its Key Master)' : 'is not signed'}`);
      try {
        await work(rz);
      } catch (error) {
        if (error instanceof RolloverRequestError) throw new ZoneError(error.code, `zone ${e.name.toString()}: ${error.message}`);
        throw error;
      }
    });
    this.wake();
  }

  /** The zone service's steps, as the safe unsign (zone-unsign.ts) uses them. */
  get unsignHost(): UnsignHost<ZoneEntry> {
    return {
      clock: this.o.clock,
      logger: this.o.logger,
      serverName: this.o.catalog.serverName,
      stateDir: this.o.stateDir,
      timers: this.o.rollover.timers,
      dsAtParent: this.o.rollover.dsAtParent,
      ...(this.o.onTrustAnchorsWithdrawn ? { withdrawTrustAnchor: this.o.onTrustAnchorsWithdrawn } : {}),
      localParentDs: (e) => {
        const local = this.o.catalog.localParentOf(e);
        return local ? { dsTtl: local.unsigned.rrset(e.name, RRType.DS)?.records[0]?.ttl } : undefined;
      },
      serveSigned: async (e, next) => {
        await this.o.signing.install(next, e.policy, 'zone unsign: DS withdrawn first'); // the delete signal is published, signed
        await this.o.catalog.persist(next, e.name.toString()).catch((error: Error) => {
          this.o.catalog.zones.set(e.name.toString(), e);
          this.o.onZoneChanged?.(e.name);
          throw new ZoneError('state-not-written', `zone ${e.name.toString()} not unsigned: ${error.message}`);
        });
        await this.o.signing.commitChange(next, serialChange(next.unsigned)).catch(() => undefined); // secondaries see the delete signal
        await this.o.parentDs.around(next);
      },
      save: (e) => this.o.catalog.persist(e, e.name.toString()),
      serveUnsigned: async (e) => {
        const next: ZoneEntry = { ...e, signedByCommand: false, unsigning: undefined };
        await this.o.catalog.persist({ ...next, policy: undefined }, e.name.toString());
        await this.o.signing.install(next, undefined, 'zone unsign');
        await this.o.parentDs.around(next);
        return next;
      },
    };
  }
}
