import { isIPv6 } from 'node:net';

/** The local addresses NOTIFY and transfer requests leave from, per family (BIND's notify-source / transfer-source). */
export interface TransferSources {
  readonly v4?: string;
  readonly v6?: string;
}

/**
 * The first listen address of each family that is not a wildcard: a secondary checks that a
 * NOTIFY comes from its primary's address, and a primary's ACL may name the secondary's, so
 * both leave from the address the server answers on, not whatever the kernel would pick.
 */
export function transferSources(listen: readonly { readonly host: string }[]): TransferSources {
  const pick = (v6: boolean) => listen.find((l) => isIPv6(l.host) === v6 && l.host !== '0.0.0.0' && l.host !== '::')?.host;
  const v4 = pick(false);
  const v6 = pick(true);
  return { ...(v4 ? { v4 } : {}), ...(v6 ? { v6 } : {}) };
}

export function sourceFor(sources: TransferSources | undefined, destination: string): string | undefined {
  return isIPv6(destination) ? sources?.v6 : sources?.v4;
}
