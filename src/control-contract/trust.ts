import type { RefreshOutcome } from '../trust/trust-point-refresher.js';
import type { AnchorView, TrustPointDetail, TrustPointView } from '../trust/trust-views.js';

/**
 * The bodies of `/v1/trust-points` and `/v1/trust-anchors` (`keymaster trust-point`,
 * `trust-anchor`). A zone travels in the query string or the body, never as a path segment: the
 * root's "." would be taken for a dot-segment by URL normalisation.
 */
export type { AnchorView, RefreshOutcome, TrustPointDetail, TrustPointView };

export interface TrustPointListReply {
  readonly trustPoints: readonly TrustPointView[];
}

export interface TrustPointRemoveReply {
  readonly zone: string;
  readonly removed?: boolean;
}

/** `url` or `file`; neither: the configured `trustAnchors.rootAnchors`. */
export interface AddRootBody {
  readonly url?: string;
  readonly file?: string;
}

export interface AddRootReply {
  readonly zone: string;
  readonly added: number;
  readonly skipped: number;
  readonly from: string;
  readonly fallbackReason?: string;
  readonly trustPoint: TrustPointDetail;
}

export interface RefreshBody {
  readonly zone: string;
}

export type RefreshReply = Omit<RefreshOutcome, 'nextRefresh'> & { readonly nextRefresh?: string; readonly trustPoint: TrustPointDetail | null };

export interface AnchorListReply {
  readonly anchors: readonly AnchorView[];
}

/** Exactly one of `ds` or `dnskey`, as RDATA text. */
export interface AnchorAddBody {
  readonly zone: string;
  readonly ds?: string;
  readonly dnskey?: string;
}

export interface AnchorImportBody {
  readonly kind: 'keyset' | 'dsset';
  readonly fileName: string;
  readonly text: string;
}

export interface AnchorsChangedReply {
  readonly zone: string;
  readonly added: number;
  readonly skipped: number;
  readonly trustPoint: TrustPointDetail;
}

export interface AnchorRemoveReply {
  readonly zone: string;
  readonly keyTag: number;
  readonly removed: number;
  readonly trustPointRemoved: boolean;
}
