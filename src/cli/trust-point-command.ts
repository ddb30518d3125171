import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { AnchorView, TrustPointDetail, TrustPointListReply, TrustPointView } from '../control-contract/trust.js';
import { CLIENT_FLAGS_HELP } from './usage.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { formatTrustPointTable } from './trust-point-table.js';
import { UsageError } from './usage.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

export const TRUST_POINT_USAGE = `usage: keymaster trust-point list [--wide | --output COLUMNS] | show ZONE | add-root [--url URL | --file FILE] | remove ZONE | refresh ZONE
                             [--json] [--config FILE | --control ADDR:PORT --state-dir DIR]

Trust points are the zones the validator holds trust anchors for, kept current by RFC 5011.
  list                 every trust point: state, anchors, last/next active refresh, last result,
                       within 120 columns; --wide: full times and every column; --output zone,
                       state,anchors,last,next,result,lasttime,success,nexttime,failures,fullresult
  show ZONE            one trust point and its anchors with their RFC 5011 states and times
  add-root             add the root trust point from IANA's root-anchors.xml (the configured
                       trustAnchors.rootAnchors, or --url URL / --file FILE); a digest becomes a
                       trusted key when a validated refresh shows the DNSKEY it matches
  remove ZONE          remove a trust point and all its anchors
  refresh ZONE         an RFC 5011 active refresh now
  --json               machine-readable output
${CLIENT_FLAGS_HELP}
`;

/** "2026-01-11T00:00:00.000Z" → "2026-01-11 00:00:00Z"; absent → "-". */
export function when(iso: string | undefined): string {
  return iso === undefined ? '-' : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');
}

export function formatTrustPoints(points: readonly TrustPointView[], options: { wide?: boolean | undefined; output?: string | undefined } = {}): string {
  if (points.length === 0) return 'No trust points.\n';
  return `${formatTrustPointTable(points, options)}\n`;
}

export function formatAnchors(anchors: readonly AnchorView[], withZone: boolean): string {
  if (anchors.length === 0) return 'No trust anchors.\n';
  return `${formatTable(
    [
      ...(withZone ? [{ header: 'TrustAnchor', value: (a: AnchorView) => a.zone }] : []),
      { header: 'Type', value: (a: AnchorView) => a.type },
      { header: 'KeyTag', value: (a) => (a.currentKeyTag !== a.keyTag ? `${a.keyTag} (now ${a.currentKeyTag})` : String(a.keyTag)), align: 'right' as const },
      { header: 'Alg', value: (a) => String(a.algorithm), align: 'right' as const },
      { header: 'State', value: (a) => a.state },
      { header: 'Trusted', value: (a) => (a.trusted ? 'yes' : 'no') },
      { header: 'EnteredState', value: (a) => when(a.enteredState) },
      { header: 'NextState', value: (a) => (a.nextState ? `${a.nextState} at ${when(a.nextStateTime)}` : '-') },
      { header: 'LastSeen', value: (a) => when(a.lastSeen) },
      { header: 'Origin', value: (a) => `${a.origin}${a.label ? ` ${a.label}` : ''}${a.validFrom ? ` from ${when(a.validFrom).slice(0, 10)}` : ''}${a.validUntil ? ` until ${when(a.validUntil).slice(0, 10)}` : ''}` },
      { header: 'Source', value: (a) => a.source },
    ],
    anchors,
  )}\n`;
}

export function formatTrustPointDetail(tp: TrustPointDetail): string {
  const fields = formatFields([
    ['TrustPoint', tp.zone],
    ['State', tp.state],
    ['Created', when(tp.createdAt)],
    ['LastActiveRefresh', when(tp.lastRefresh)],
    ['LastSuccessfulRefresh', when(tp.lastSuccess)],
    ['NextActiveRefresh', when(tp.nextRefresh)],
    ['LastResult', tp.lastResult ?? '-'],
    ['DNSKEY TTL', tp.originalTtl === undefined ? '-' : `${tp.originalTtl}s`],
    ['Failed refreshes', String(tp.failures)],
  ]);
  return `${fields}\n\n${formatAnchors(tp.anchors, false)}`;
}

function one(positionals: string[], what: string): string {
  const [, arg, extra] = positionals;
  if (arg === undefined) throw new UsageError(`missing ${what}`);
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  return arg;
}

export async function runTrustPointCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...CLIENT_OPTIONS, url: { type: 'string' }, file: { type: 'string' }, wide: { type: 'boolean', default: false }, output: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
  });
  if (values.help) {
    process.stdout.write(TRUST_POINT_USAGE);
    return 0;
  }
  const action = positionals[0];
  const out = (json: unknown, human: string) => process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : human);
  if ((values.url !== undefined || values.file !== undefined) && action !== 'add-root') throw new UsageError('--url and --file go with add-root');
  switch (action) {
    case 'list': {
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
      const client = await connectToServer(values);
      const r = (await client.call(CONTROL_ROUTES.trustPointList)) as TrustPointListReply;
      out(r, formatTrustPoints(r.trustPoints, { wide: values.wide, output: values.output }));
      return 0;
    }
    case 'show': {
      const zone = one(positionals, 'ZONE');
      const client = await connectToServer(values);
      const r = (await client.call(CONTROL_ROUTES.trustPointList, { query: { zone } })) as TrustPointDetail;
      out(r, formatTrustPointDetail(r));
      return 0;
    }
    case 'add-root': {
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
      if (values.url !== undefined && values.file !== undefined) throw new UsageError('give --url or --file, not both');
      const client = await connectToServer(values);
      const body = values.file !== undefined ? { file: resolve(values.file) } : values.url !== undefined ? { url: values.url } : {};
      const r = await client.call(CONTROL_ROUTES.trustPointAddRoot, { body });
      out(
        r,
        `${r.fallbackReason ? `Could not use the URL (${r.fallbackReason}); used ${r.from}\n` : `Read ${r.from}\n`}Added ${r.added} root anchor(s)${r.skipped ? `, ${r.skipped} already present` : ''}\n\n${formatTrustPointDetail(r.trustPoint)}`,
      );
      return 0;
    }
    case 'remove': {
      const zone = one(positionals, 'ZONE');
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.trustPointRemove, { query: { zone } });
      out(r, `Removed trust point ${r.zone}\n`);
      return 0;
    }
    case 'refresh': {
      const zone = one(positionals, 'ZONE');
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.trustPointRefresh, { body: { zone } });
      const changes = r.changes.map((c) => `  ${c.type} ${c.keyTag}: ${c.from} → ${c.to} (${c.why})\n`).join('');
      out(r, `Refresh of ${r.zone}: ${r.result}\n${changes}${r.trustPoint ? `\n${formatTrustPointDetail(r.trustPoint)}` : ''}`);
      return r.ok ? 0 : 1;
    }
    default:
      throw new UsageError(action === undefined ? 'missing action: list, show, add-root, remove or refresh' : `unknown action "${action}"`);
  }
}
