import { parseArgs } from 'node:util';
import { formatDuration } from '../config/duration.js';
import type { ServerStatus } from '../control-contract/status.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { STATUS_USAGE, UsageError } from './usage.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

/** The human form of `GET /v1/status`: a field list, then the listeners as a table. */
export function formatStatus(status: ServerStatus): string {
  const fields = formatFields([
    ['Version', status.version],
    ['PID', String(status.pid)],
    ['Started', status.startedAt],
    ['Uptime', formatDuration(status.uptimeSeconds)],
    ['Config file', status.configFile ?? '(built-in defaults)'],
    ['State dir', status.stateDir],
    ...(status.workers ? [['Workers', formatWorkers(status.workers)] as [string, string]] : []),
  ]);
  const listeners = formatTable(
    [
      { header: 'Purpose', value: (l: ServerStatus['listeners'][number]) => l.purpose },
      { header: 'Protocol', value: (l) => l.protocol },
      { header: 'Address', value: (l) => l.address },
    ],
    status.listeners,
  );
  const warnings = (status.warnings ?? []).map((w) => `Warning: ${w.detail} (${w.event})\n`).join('');
  const r = status.resolver;
  if (!r) return `${fields}\n\n${listeners}\n${warnings}${formatLocalZones(status)}`;
  const resolver = formatFields([
    ['Client queries', String(r.queries)],
    ['Cache', `${r.cache.entries} RRsets, ${(r.cache.bytes / 1048576).toFixed(1)} of ${(r.cache.maxBytes / 1048576).toFixed(0)} MiB, ${r.cache.responses} encoded answers`],
    ['Cache hit ratio', `${(r.cache.hitRatio * 100).toFixed(1)} % (${r.cache.hits} hits, ${r.cache.misses} misses)`],
    ['Upstream queries', `${r.upstream.queries} (${r.upstream.timeouts} timeouts, ${r.upstream.tcpRetries} over TCP, ${r.upstream.ednsFallbacks} without EDNS)`],
    ['Upstream servers', `${r.upstream.servers} known, ${r.upstream.backedOff} backed off`],
    ...(r.inFlight ? [['In flight', `${r.inFlight.inFlight} of ${r.inFlight.maxInFlight} (${r.inFlight.maxInFlightPerServer} per server); ${r.inFlight.shed} shed, ${r.inFlight.jostled} jostled`] as const] : []),
    ...(r.memory ? [['Memory', `${(r.memory.bytes / 1048576).toFixed(1)} of ${(r.memory.maxBytes / 1048576).toFixed(0)} MiB (${Object.entries(r.memory.parts).filter(([, u]) => u.maxBytes > 0).map(([k, u]) => `${k} ${(u.bytes / 1048576).toFixed(1)}`).join(', ')}); process RSS ${(r.memory.process.rss / 1048576).toFixed(0)} MiB`] as const] : []),
    ['Errors', `${r.servfail} SERVFAIL, ${r.refused} REFUSED, ${r.formerr} FORMERR`],
    ...(r.goodCitizen
      ? [['Local and RD=0', `${r.goodCitizen.locallyServed} answered from locally served zones; ${r.goodCitizen.cacheOnly} RD=0 (${r.goodCitizen.cacheOnlyMisses} not in the cache)`] as const,
         ['Cookies', `${r.goodCitizen.validCookies} valid server cookies, ${r.goodCitizen.badCookies} BADCOOKIE` +
           (r.goodCitizen.upstreamCookies ? `; upstream: ${r.goodCitizen.upstreamCookies.learned} servers' cookies learned, ${r.goodCitizen.upstreamCookies.badcookie} BADCOOKIE, ${r.goodCitizen.upstreamCookies.spoofed} forged replies` : '')] as const]
      : []),
    ...(r.validation
      ? [['Validation', `${r.validation.secure} secure, ${r.validation.insecure} insecure, ${r.validation.bogus} bogus, ${r.validation.indeterminate} indeterminate; ${r.validation.signatureChecks} signatures checked`] as const]
      : []),
  ]);
  return `${fields}\n\n${listeners}\n\n${resolver}\n${warnings}${formatLocalZones(status)}`;
}

/** The locally served zones (RFC 6761/6303/7686/8375): those answered here, then the others and why. */
function formatLocalZones(status: ServerStatus): string {
  const lz = status.localZones;
  if (!lz) return '';
  if (!lz.enabled) return '\nLocally served zones: none (resolver.localZones.enable is false)\n';
  const served = lz.zones.filter((z) => z.state === 'served').map((z) => z.zone);
  const others = lz.zones.filter((z) => z.state !== 'served').map((z) => `  ${z.zone} (${z.state === 'hosted' ? 'hosted here' : z.state === 'forwarded' ? 'forwarder set' : 'disabled in config'})`);
  return `\nLocally served zones (${served.length}):\n${wrap(collapseRanges(served), 100, '  ')}\n${others.length ? `Not served locally:\n${others.join('\n')}\n` : ''}`;
}

/** `16.172.in-addr.arpa. … 31.172.in-addr.arpa.` as `16-31.172.in-addr.arpa.`: consecutive numeric first labels under one parent. */
function collapseRanges(names: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < names.length; ) {
    const m = /^(\d+)\.(.+)$/.exec(names[i]!);
    let j = i + 1;
    if (m) while (j < names.length && names[j] === `${Number(m[1]) + (j - i)}.${m[2]}`) j++;
    out.push(m && j - i > 2 ? `${m[1]}-${Number(m[1]) + (j - i - 1)}.${m[2]}` : names[i]!);
    if (!(m && j - i > 2)) j = i + 1;
    i = j;
  }
  return out;
}

function wrap(words: readonly string[], width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      lines.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(indent + line);
  return lines.join('\n');
}

export async function runStatusCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(STATUS_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const client = await connectToServer(values);
  const status = await client.call(CONTROL_ROUTES.status);
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status));
  return 0;
}

/** `2 of 2 running, 1 restart (pids 812, 813)`. */
function formatWorkers(w: NonNullable<ServerStatus['workers']>): string {
  return `${w.running} of ${w.configured} running, ${w.restarts} restart${w.restarts === 1 ? '' : 's'} (pids ${w.pids.join(', ') || 'none'})`;
}
