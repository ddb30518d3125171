import type { ResourceRecord } from '../wire/message.js';
import type { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import type { ZoneRecordSource } from '../wire/zone-file.js';
import { ZoneDataError } from './zone-db.js';

/**
 * Where a DS RRset may be (RFC 4034 §5, RFC 4035 §2.4): only at a delegation point, in the
 * parent's side of the cut. A DS anywhere else is served as data no validator asked for, or,
 * at a name that is later delegated, names keys the child never had; a DS for a child that is
 * hosted here unsigned makes every answer from that child bogus. Both are refused with the
 * reason, from a zone file, an UPDATE and `zone record add` alike.
 */

/** Why a DS at `owner` in the zone `origin` is misplaced, or undefined when `owner` is a delegation. */
export function misplacedDsReason(origin: Name, owner: Name, delegated: boolean): string | undefined {
  if (owner.equals(origin)) return `a DS at the apex of ${origin.toString()} belongs in the parent zone, not in ${origin.toString()} itself (RFC 4035 §2.4)`;
  if (!delegated) return `a DS at ${owner.toString()}, which is not a delegation (no NS there): a DS only names the keys of a child zone at its cut (RFC 4034 §5)`;
  return undefined;
}

/** The reason a DS for a child hosted here unsigned is refused. */
export function unsignedChildDsReason(child: Name): string {
  return `${child.toString()} is hosted here unsigned: a DS for it would make every answer from it bogus; sign it (zone sign) and its DS is kept in step here`;
}

/** Checks a zone file's records: every DS at a delegation. Throws ZoneDataError naming the file and line of the first that is not. */
export function checkDsPlacement(origin: Name, records: readonly ResourceRecord[], sources?: readonly ZoneRecordSource[]): void {
  const delegated = new Set<string>();
  for (const r of records) if (r.type === RRType.NS && !r.name.equals(origin)) delegated.add(r.name.key);
  records.forEach((r, i) => {
    if (r.type !== RRType.DS) return;
    const reason = misplacedDsReason(origin, r.name, delegated.has(r.name.key));
    const source = sources?.[i];
    if (reason) throw new ZoneDataError(origin.toString(), source ? `${source.fileName}:${source.line}` : undefined, reason);
  });
}
