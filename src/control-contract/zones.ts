import type { RecordChangeSummary, RecordRequest } from '../authority/record-request.js';
import type { SecondaryView } from '../authority/secondary-zones.js';
import type { SignPreview } from '../authority/sign-preview.js';
import type { SigningPolicy } from '../authority/signing-policy.js';
import type { ZoneSummary } from '../authority/zone-entry.js';
import type { ZoneKeyView } from '../authority/zone-key-view.js';

/** The bodies of `/v1/zones` (`keymaster zone`). The views are the zone domain's own. */
export type { RecordChangeSummary, RecordRequest, SecondaryView, SignPreview, SigningPolicy, ZoneKeyView, ZoneSummary };

export type ListedZone = ZoneSummary | SecondaryView;

export interface ZoneListReply {
  readonly zones: readonly ListedZone[];
}

/** A primary zone from a file under the zones directory, or a secondary transferred from `primary`. */
export type ZoneAddBody =
  | { readonly name: string; readonly file: string; readonly allowTransfer: readonly string[]; readonly reuseKeys?: boolean }
  | { readonly name: string; readonly primary: readonly string[]; readonly allowTransfer: readonly string[]; readonly tsig?: string };

export type ZoneAddReply = (ZoneSummary & { readonly keysNote?: string }) | SecondaryView;

export type ZoneDetail =
  | (ZoneSummary & { readonly policy: SigningPolicy | null; readonly keyAlgorithms?: number[]; readonly serialScheme?: string; readonly ixfrVersions?: number; readonly ixfrOldestSerial?: number | null })
  | SecondaryView;

export interface ZoneRemoveReply {
  readonly name: string;
}

/** One of `defaults`, `like` (copy a signed zone's parameters) or `options`; `dryRun` previews. */
export interface ZoneSignBody {
  readonly defaults?: boolean;
  readonly like?: string;
  readonly options?: Partial<Record<keyof SigningPolicy, unknown>>;
  readonly dryRun?: boolean;
}

export type ZoneSignReply = SignPreview | (ZoneSummary & { readonly policy: SigningPolicy; readonly keys: ZoneKeyView[] });

export interface ZoneUnsignBody {
  readonly now?: boolean;
}

export interface ZoneKeysReply {
  readonly zone: string;
  /** The zone's Key Master as this server sees it ('' while the cluster role is vacant); one server: its own name. */
  readonly keyMaster: string;
  readonly isThisServer: boolean;
  readonly keys: ZoneKeyView[];
  readonly unsigning?: NonNullable<ZoneSummary['unsigning']>;
}

export interface ZoneExportKeysReply {
  readonly zone: string;
  readonly dsset: string;
  readonly keyset: string;
}

export interface KeyMasterView {
  readonly zone: string;
  readonly keyMaster: string;
  readonly thisServer: string;
  readonly isThisServer: boolean;
  readonly fileBacked: boolean;
}

export interface KeyMasterBody {
  readonly server: string;
  /** Cluster mode: take the role for this server when its holder is gone (refused while it lives). */
  readonly seize?: boolean;
}
