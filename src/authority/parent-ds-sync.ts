import { logDnssecEvent, type Logger } from '../logging/logger.js';
import type { Name } from '../wire/name.js';
import { rdataToText } from '../wire/rdata-text.js';
import { RRType } from '../wire/rr-type.js';
import { unsignedChildDsReason } from './ds-placement.js';
import { changeFromDiff } from './dynamic-update.js';
import type { JournalFollower } from './journal-follower.js';
import { keyMasterChangeRefusal } from './key-master.js';
import type { PrimaryTransfers } from './primary-transfers.js';
import { parentDsRecords } from './rollover/rollover-keys.js';
import { soaSerial, withSerial } from './soa-serial.js';
import type { ZoneCatalog } from './zone-catalog.js';
import type { ZoneEntry } from './zone-entry.js';
import type { ZoneSigning } from './zone-signing.js';

/**
 * The DS of a zone signed here, in its parent when the parent is hosted here too: kept the one
 * the child asks for (its CDS: active and standby KSKs), journaled and re-signed like a dynamic
 * update, with a serial bump. An unsigned child gets no DS.
 */
export class ParentDsSync {
  constructor(private readonly o: { readonly catalog: ZoneCatalog; readonly signing: ZoneSigning; readonly transfers: PrimaryTransfers; readonly logger: Logger; readonly follower?: JournalFollower | undefined }) {}

  /** Updates the DS of `entry` in its local parent and of its local children in it. */
  async around(entry: ZoneEntry): Promise<void> {
    const { catalog } = this.o;
    await this.sync(entry.name);
    for (const child of [...catalog.zones.values()]) if (!child.name.equals(entry.name) && catalog.localParentOf(child)?.name.equals(entry.name)) await this.sync(child.name);
  }

  /** Makes the local parent's DS RRset for `childName` what the child asks for; failures are logged, nothing changed. */
  async sync(childName: Name): Promise<void> {
    const { catalog, transfers } = this.o;
    const child = catalog.zones.get(childName.toString());
    const parent = child && catalog.localParentOf(child);
    if (!child || !parent) return;
    const signed = child.policy !== undefined && !child.unsigning;
    // Cluster mode: the DS follows the keys only on the child's Key Master, which commits it to the
    // parent's journal; another primary would otherwise take the keys it does not roll for none.
    if (signed && keyMasterChangeRefusal(child.name.toString(), child.keyMaster, catalog.serverName, true)) return;
    const want = signed ? parentDsRecords(child.name, child.keys, child.policy!, parent.unsigned.zoneClass) : [];
    // Planned on the parent as served here, again after another primary's change went first (cluster mode).
    const attempt = async (): Promise<number | undefined> => {
      const current = parent.unsigned.rrset(child.name, RRType.DS)?.records ?? [];
      const same = current.length === want.length && want.every((w) => current.some((c) => c.ttl === w.ttl && Buffer.from(c.rdata).equals(Buffer.from(w.rdata))));
      if (same) return undefined;
      const soa = parent.unsigned.soa;
      const serial = transfers.nextSerial(parent.name)(soaSerial(soa));
      await this.o.signing.commitChange(parent, changeFromDiff(parent.unsigned, [...current, soa], [...want, withSerial(soa, serial)], serial));
      return serial;
    };
    try {
      const serial = this.o.follower ? await this.o.follower.commitAgreed(parent, attempt) : await attempt();
      if (serial === undefined) return;
      // A DS the parent's file or an old state had for a child served unsigned here would make it bogus: removed, with why.
      const why = signed ? {} : { reason: unsignedChildDsReason(child.name) };
      logDnssecEvent(this.o.logger, 'zone.parent-ds-updated', { zone: parent.name.toString(), child: child.name.toString(), serial, ds: want.map((r) => rdataToText(RRType.DS, r.rdata)), ...why }, { msg: `DS of ${child.name.toString()} in ${parent.name.toString()} updated`, ...(signed ? {} : { level: 'warn' as const }) });
    } catch (error) {
      logDnssecEvent(this.o.logger, 'key.rollover-error', { zone: child.name.toString(), parent: parent.name.toString(), error: (error as Error).message }, { msg: `could not update the DS of ${child.name.toString()} in ${parent.name.toString()}` });
    }
  }
}
