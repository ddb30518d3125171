import type { Clock } from '../clock.js';
import type { KeymasterConfig } from '../config/schema.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { Scheduler } from '../scheduler.js';
import { LocallyServedZones } from '../resolver/locally-served-zones.js';
import type { ResolverPolicy } from '../resolver/resolver.js';
import type { ServerAddress } from '../resolver/dns-transport.js';
import { Name } from '../wire/name.js';
import { RRType } from '../wire/rr-type.js';
import { CookieSecretStore } from '../cookies/cookie-secret.js';
import type { LocalZones } from '../server/query-pipeline.js';
import { type CookieSecrets, ServerCookies } from '../cookies/server-cookies.js';

/**
 * The locally served zones as the config asks, yielding to hosted zones and to forwarders the
 * operator set for a namespace at or below one of them (config rules or the live policy table).
 * Forwarders for `.` or an ancestor (a forward-only resolver) do not count: like Unbound with a
 * `forward-zone: "."`, private names still stay here.
 */
export function createLocallyServedZones(config: KeymasterConfig, hosted: LocalZones | undefined, policy: ResolverPolicy | undefined, clock: Clock): LocallyServedZones | undefined {
  if (!config.resolver.localZones.enable) return undefined;
  const unknown = config.resolver.localZones.disable.filter((n) => !LocallyServedZones.isDefault(Name.parse(n)));
  if (unknown.length > 0) throw new Error(`resolver.localZones.disable: ${unknown.map((n) => `"${n}"`).join(', ')} ${unknown.length > 1 ? 'are not default local zones' : 'is not a default local zone'} (the list is in docs/good-citizen.md)`);
  const configRules = config.policy
    .filter((r) => r.forwarders.length > 0)
    .map((r) => ({ namespace: Name.parse(r.namespace === '.' ? '.' : `${r.namespace.replace(/^\./, '')}.`), exact: r.namespace !== '.' && !r.namespace.startsWith('.'), servers: r.forwarders }))
    .sort((a, b) => b.namespace.labelCount - a.namespace.labelCount);
  const forwardersFor = (name: Name): readonly ServerAddress[] | undefined => {
    if (policy) return policy.forwardersFor(name, clock.now());
    return configRules.find((r) => (r.exact ? name.equals(r.namespace) : name.isSubdomainOf(r.namespace)))?.servers;
  };
  return new LocallyServedZones({
    disabled: config.resolver.localZones.disable.map((n) => Name.parse(n)),
    ...(hosted?.lookup ? { hosted: (zone: Name) => hosted.lookup!(zone, RRType.SOA) !== undefined } : {}),
    // The rule that gives `name` its forwarders lies at or below `zone` when the zone's parent would get others (or none).
    forwardedBelow: (name, zone) => {
      const here = forwardersFor(name);
      return here !== undefined && here.length > 0 && here !== forwardersFor(zone.isRoot ? zone : zone.parent(1));
    },
  });
}

/** Server cookies with the secret from stateDir, rotated by a job of the scheduler; `stop` ends the job. */
export async function startServerCookies(config: KeymasterConfig, clock: Clock, logger: Logger, scheduler: Scheduler): Promise<{ cookies: ServerCookies; secrets: CookieSecrets; stop(): void } | undefined> {
  if (!config.cookies.enable) return undefined;
  const secrets = await CookieSecretStore.open(config.stateDir, config.cookies.secretRotation, clock, logger);
  // At most an hour between looks: another worker's rotation is picked up within it.
  const next = (): number => clock.now() + Math.max(1000, Math.min(secrets.nextRotation - clock.now(), 3_600_000));
  const job = scheduler.schedule('cookies.secret-rotation', next(), async () => {
    await secrets.rotateIfDue().catch((error: unknown) => logEvent(logger, 'cookies.rotation-failed', { error: (error as Error).message }, { level: 'error' }));
    return next();
  });
  return { cookies: new ServerCookies(secrets, clock), secrets, stop: () => job.cancel() };
}
