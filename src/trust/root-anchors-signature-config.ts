import type { TrustAnchorsConfig } from '../config/schema.js';
import type { RootAnchorsLoadOptions, RootAnchorsLocation } from './root-anchors-source.js';

/**
 * The signature options for loading `location`: `trustAnchors.rootAnchorsSignature` and
 * `trustAnchors.rootAnchorsCa` apply to the configured root-anchors location only; another one
 * (`trust-point add-root --url|--file`) is verified by the p7s beside it against the same CA.
 */
export function rootAnchorsSignatureOptions(t: TrustAnchorsConfig, location: RootAnchorsLocation, now: number): RootAnchorsLoadOptions {
  const configured = t.rootAnchors;
  const same = (configured.kind === 'url' && location.kind === 'url' && configured.url === location.url) || (configured.kind === 'file' && location.kind === 'file' && configured.path === location.path);
  return { now, ...(t.rootAnchorsCa ? { caFile: t.rootAnchorsCa } : {}), ...(same && t.rootAnchorsSignature ? { signature: t.rootAnchorsSignature } : {}) };
}
