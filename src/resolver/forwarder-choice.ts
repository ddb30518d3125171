import type { Name } from '../wire/name.js';
import type { ServerAddress } from './dns-transport.js';
import type { ResolverPolicy } from './resolver.js';

/**
 * Where a name is sent, in the one order every path uses: the forwarders of the policy table's
 * most specific namespace that has any (policy/policy-table.ts: `.corp.example` covers that name
 * and below, `corp.example` that name only, `.` every name; whole labels, case-insensitive, as
 * Unbound's forward-zone and the NRPT match), else the global `resolver.forwarders`, else none:
 * iterate from the root.
 */
export function chooseForwarders(name: Name, policy: Pick<ResolverPolicy, 'forwardersFor'> | undefined, global: readonly ServerAddress[], now: number): readonly ServerAddress[] | undefined {
  const fromPolicy = policy?.forwardersFor(name, now);
  if (fromPolicy && fromPolicy.length > 0) return fromPolicy;
  return global.length > 0 ? global : undefined;
}
