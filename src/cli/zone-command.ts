import { parseArgs } from 'node:util';
import { algorithmMnemonic } from '../crypto/algorithms.js';
import { formatDuration, parseDuration } from '../config/duration.js';
import type { ListedZone, RecordRequest, SecondaryView, SignPreview, SigningPolicy, ZoneKeyView, ZoneSummary } from '../control-contract/zones.js';
import { formatSignPreview } from './sign-preview-text.js';
import { UsageError, ZONE_USAGE } from './usage.js';
import { CLIENT_OPTIONS, connectToServer } from './client-options.js';
import { formatFields, formatTable } from './table.js';
import { formatKeyTable } from './key-table.js';
import { selectKey } from './key-selector.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

const SIGN_OPTIONS = {
  defaults: { type: 'boolean' },
  like: { type: 'string' },
  algorithm: { type: 'string' },
  'ksk-size': { type: 'string' },
  'zsk-size': { type: 'string' },
  nsec: { type: 'boolean' },
  nsec3: { type: 'boolean' },
  iterations: { type: 'string' },
  'salt-length': { type: 'string' },
  'opt-out': { type: 'boolean' },
  'dnskey-validity': { type: 'string' },
  'ds-validity': { type: 'string' },
  'signature-validity': { type: 'string' },
  inception: { type: 'string' },
  'dnskey-ttl': { type: 'string' },
  'ds-ttl': { type: 'string' },
  'ds-digest': { type: 'string' },
  'ksk-rollover': { type: 'string' },
  'zsk-rollover': { type: 'string' },
  'no-rfc5011': { type: 'boolean' },
  'distribute-trust-anchor': { type: 'boolean' },
} as const;


function integer(flag: string, value: string): number {
  if (!/^[0-9]+$/.test(value)) throw new UsageError(`--${flag} must be a whole number, got "${value}"`);
  return Number(value);
}

function duration(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
}

/** The server's floors (src/authority/signing-policy.ts), said as durations before anything is sent. */
const MINIMUM_SECONDS: Partial<Record<keyof SigningPolicy, number>> = {
  dnskeySignatureValidity: 3600, dsSignatureValidity: 3600, signatureValidity: 3600, kskRollover: 3600, zskRollover: 3600,
};

function atLeast(flag: string, key: keyof SigningPolicy, seconds: number): number {
  const min = MINIMUM_SECONDS[key] ?? 0;
  if (seconds < min) throw new UsageError(`--${flag} (${key}): must be at least ${formatDuration(min)}, got ${formatDuration(seconds)}`);
  return seconds;
}

type SignValues = { [K in keyof typeof SIGN_OPTIONS]?: (typeof SIGN_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

/** The sign request body from the flags: defaults, like, or options over the defaults. */
export function signBody(values: SignValues): Record<string, unknown> {
  const options: Partial<Record<keyof SigningPolicy, unknown>> = {};
  const put = (key: keyof SigningPolicy, value: unknown) => {
    if (value !== undefined) options[key] = value;
  };
  if (values.nsec && values.nsec3) throw new UsageError('--nsec and --nsec3 exclude each other');
  put('algorithm', values.algorithm);
  put('kskBits', values['ksk-size'] === undefined ? undefined : integer('ksk-size', values['ksk-size']));
  put('zskBits', values['zsk-size'] === undefined ? undefined : integer('zsk-size', values['zsk-size']));
  put('denial', values.nsec ? 'nsec' : values.nsec3 ? 'nsec3' : undefined);
  put('nsec3Iterations', values.iterations === undefined ? undefined : integer('iterations', values.iterations));
  put('nsec3SaltLength', values['salt-length'] === undefined ? undefined : integer('salt-length', values['salt-length']));
  put('nsec3OptOut', values['opt-out'] ? true : undefined);
  if (values.nsec && (values['opt-out'] || values.iterations !== undefined || values['salt-length'] !== undefined))
    throw new UsageError('--opt-out, --iterations and --salt-length are NSEC3 options; they do not go with --nsec');
  const durations: [keyof SigningPolicy, keyof SignValues][] = [
    ['dnskeySignatureValidity', 'dnskey-validity'], ['dsSignatureValidity', 'ds-validity'], ['signatureValidity', 'signature-validity'],
    ['signatureInception', 'inception'], ['dnskeyTtl', 'dnskey-ttl'], ['dsTtl', 'ds-ttl'], ['kskRollover', 'ksk-rollover'], ['zskRollover', 'zsk-rollover'],
  ];
  for (const [key, flag] of durations) {
    const v = values[flag];
    if (typeof v === 'string') put(key, atLeast(flag, key, duration(flag, v)));
  }
  if (values['ds-digest'] !== undefined) {
    const d = values['ds-digest'].toLowerCase();
    if (d !== 'sha256' && d !== 'sha384') throw new UsageError(`--ds-digest must be sha256 or sha384, got "${values['ds-digest']}"`);
    put('dsDigest', d === 'sha256' ? 2 : 4);
  }
  put('rfc5011', values['no-rfc5011'] ? false : undefined);
  put('distributeTrustAnchor', values['distribute-trust-anchor'] ? true : undefined);
  const hasOptions = Object.keys(options).length > 0;
  if ([values.defaults, values.like !== undefined, hasOptions].filter(Boolean).length > 1)
    throw new UsageError('give --defaults, --like ZONE, or signing options, not several');
  if (values.like !== undefined) return { like: values.like };
  if (hasOptions) return { options };
  return { defaults: true };
}

function algorithmText(n: number): string {
  return `${algorithmMnemonic(n) ?? 'ALG'}(${n})`;
}

const isSecondary = (z: ListedZone): z is SecondaryView => 'type' in z && z.type === 'secondary';

function zoneTable(zones: readonly ListedZone[]): string {
  return formatTable<ListedZone>(
    [
      { header: 'ZoneName', value: (z) => z.name },
      { header: 'IsSigned', value: (z) => (z.signed ? 'True' : 'False') },
      { header: 'Denial', value: (z) => (isSecondary(z) ? '-' : (z.denial ?? '-').toUpperCase()) },
      { header: 'Serial', value: (z) => String(z.serial ?? '-'), align: 'right' },
      { header: 'Names', value: (z) => String(z.names), align: 'right' },
      { header: 'KeyMaster', value: (z) => (isSecondary(z) ? '-' : z.keyMaster) },
      { header: 'Source', value: (z) => z.source },
      { header: 'ZoneType', value: (z) => (isSecondary(z) ? 'Secondary' : 'Primary') },
      { header: 'State', value: (z) => (isSecondary(z) ? z.state : 'loaded') },
      { header: 'LastRefresh', value: (z) => (isSecondary(z) ? (z.lastRefresh?.replace(/\.\d+Z$/, 'Z') ?? '-') : '-') },
      { header: 'ZoneFile', value: (z) => (isSecondary(z) ? `primaries ${z.primaries.join(', ')}` : z.file) },
    ],
    zones,
  );
}

function secondaryFields(z: SecondaryView): [string, string][] {
  return [
    ['ZoneName', z.name],
    ['ZoneType', 'Secondary'],
    ['Source', z.source],
    ['MasterServers', z.primaries.join(', ')],
    ['TsigKey', z.tsig ?? '(none)'],
    ['SerialNumber', String(z.serial ?? '-')],
    ['State', z.state],
    ['LastRefresh', z.lastRefresh ?? 'never'],
    ['LastTransfer', z.lastTransfer ?? '-'],
    ['Expires', z.expires ?? '-'],
    ['NextCheck', z.nextCheck],
    ['Names', String(z.names)],
    ['Records', String(z.records)],
    ['IsSigned', z.signed ? 'True (as transferred)' : 'False'],
    ...(z.lastError ? ([['LastError', z.lastError]] as [string, string][]) : []),
  ];
}

function policyFields(p: SigningPolicy): [string, string][] {
  return [
    ['Algorithm', algorithmText(p.algorithm)],
    ['KskKeyLength', String(p.kskBits)],
    ['ZskKeyLength', String(p.zskBits)],
    ['DenialOfExistence', p.denial.toUpperCase()],
    ...(p.denial === 'nsec3' ? ([['NSec3Iterations', String(p.nsec3Iterations)], ['NSec3SaltLength', String(p.nsec3SaltLength)], ['NSec3OptOut', String(p.nsec3OptOut)]] as [string, string][]) : []),
    ['DnsKeySignatureValidity', formatDuration(p.dnskeySignatureValidity)],
    ['DsSignatureValidity', formatDuration(p.dsSignatureValidity)],
    ['ZoneSignatureValidity', formatDuration(p.signatureValidity)],
    ['SignatureInceptionOffset', formatDuration(p.signatureInception)],
    ['DnsKeyRecordSetTtl', formatDuration(p.dnskeyTtl)],
    ['DSRecordSetTtl', formatDuration(p.dsTtl)],
    ['DSRecordGenerationAlgorithm', p.dsDigest === 2 ? 'Sha256' : 'Sha384'],
    ['KskRolloverFrequency', formatDuration(p.kskRollover)],
    ['ZskRolloverFrequency', formatDuration(p.zskRollover)],
    ['EnableRfc5011KeyRollover', String(p.rfc5011)],
    ['DistributeTrustAnchor', String(p.distributeTrustAnchor)],
  ];
}

/** A signed zone is changed only with --yes: the preview is shown (JSON with --json) and nothing is done. */
function refuseUnconfirmedSign(preview: SignPreview, json: boolean): number {
  const why = `zone ${preview.zone} is signed and signing it again changes it (above); nothing done: add --yes to sign`;
  if (json) process.stdout.write(`${JSON.stringify({ preview }, null, 2)}\n`);
  // A person at a terminal reads the preview on stdout; a script gets it with the error on stderr.
  else (process.stdin.isTTY ? process.stdout : process.stderr).write(`${formatSignPreview(preview)}\n`);
  process.stderr.write(`keymaster zone: ${why}\n`);
  return 1;
}

const ZONE_OPTIONS = {
  ...CLIENT_OPTIONS,
  ...SIGN_OPTIONS,
  file: { type: 'string' },
  primary: { type: 'string' },
  tsig: { type: 'string' },
  'allow-transfer': { type: 'string' },
  'reuse-keys': { type: 'boolean', default: false },
  seize: { type: 'boolean', default: false },
  yes: { type: 'boolean', default: false },
  now: { type: 'boolean', default: false },
  digest: { type: 'string' },
  ttl: { type: 'string' },
  wide: { type: 'boolean', default: false },
  output: { type: 'string' },
  json: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function parseZoneArgs(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: ZONE_OPTIONS });
}

type ZoneCommandValues = ReturnType<typeof parseZoneArgs>['values'];

/** What every `zone` action reads: its arguments and the ways to print. */
interface ZoneCommandContext {
  readonly action: string;
  readonly zone: string | undefined;
  readonly rest: readonly string[];
  readonly values: ZoneCommandValues;
  needZone(): string;
  noMore(allowed?: number): void;
  out(data: unknown, human: () => string): void;
  keyTable(keys: readonly ZoneKeyView[]): string;
}

export async function runZoneCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseZoneArgs(argv);
  if (values.help) {
    process.stdout.write(ZONE_USAGE);
    return 0;
  }
  const [action, zone, ...rest] = positionals;
  if (action === undefined) throw new UsageError('missing action: list, show, add, remove, sign, unsign, keys, export-keys or key-master');
  const needZone = () => {
    if (zone === undefined) throw new UsageError(`zone ${action} needs a ZONE`);
    return zone;
  };
  const noMore = (allowed = 0) => {
    if (rest.length > allowed) throw new UsageError(`unexpected argument "${rest[allowed]}"`);
  };
  const out = (data: unknown, human: () => string) => process.stdout.write(values.json ? `${JSON.stringify(data, null, 2)}\n` : `${human()}\n`);
  const keyTable = (keys: readonly ZoneKeyView[]) => formatKeyTable(keys, { wide: values.wide, ...(values.output === undefined ? {} : { output: values.output }) });

  const c: ZoneCommandContext = { action, zone, rest, values, needZone, noMore, out, keyTable };
  const code = (await runZoneReadAction(c)) ?? (await runZoneChangeAction(c));
  if (code === undefined) throw new UsageError(`unknown action "${action}"`);
  return code;
}

/** The actions that only read: list, show, keys, export-keys, key-master (without SERVER: reads). */
async function runZoneReadAction(c: ZoneCommandContext): Promise<number | undefined> {
  const { action, zone, rest, values, needZone, noMore, out, keyTable } = c;
  switch (action) {
    case 'list': {
      if (zone !== undefined) throw new UsageError(`unexpected argument "${zone}"`);
      const client = await connectToServer(values);
      const result = await client.call(CONTROL_ROUTES.zoneList);
      out(result, () => (result.zones.length === 0 ? 'No local zones.' : zoneTable(result.zones)));
      return 0;
    }
    case 'show': {
      const path = needZone();
      noMore();
      const client = await connectToServer(values);
      const z = await client.call(CONTROL_ROUTES.zoneShow, { params: { zone: path } });
      if (isSecondary(z)) {
        out(z, () => formatFields(secondaryFields(z)));
        return 0;
      }
      out(z, () =>
        formatFields([
          ['ZoneName', z.name],
          ['ZoneFile', z.file],
          ['Source', z.source],
          ['SerialNumber', String(z.serial)],
          ['Names', String(z.names)],
          ['Records', String(z.records)],
          ['IsSigned', z.signed ? 'True' : 'False'],
          ['KeyMasterServer', z.keyMaster],
          ['AllowTransfer', z.allowTransfer.join(', ') || '(none)'],
          ...(z.serialScheme ? ([['SerialScheme', z.serialScheme], ['IxfrVersions', `${z.ixfrVersions ?? 0}${z.ixfrOldestSerial != null ? ` (from serial ${z.ixfrOldestSerial})` : ''}`]] as [string, string][]) : []),
          ...(z.signedAt ? ([['SignedAt', z.signedAt]] as [string, string][]) : []),
          ...(z.unsigning
            ? ([
                ['UnsignStage', z.unsigning.stage === 'withdrawing-ds' ? 'WithdrawingDS' : 'WaitingForCaches'],
                ['DnssecRecordsRemovedAt', z.unsigning.removeAt ?? '(when the parent has no DS, plus its TTL)'],
              ] as [string, string][])
            : []),
          ...(z.policy ? policyFields(z.policy) : []),
          ...(z.keyAlgorithms?.length ? ([['KeyAlgorithms', z.keyAlgorithms.map(algorithmText).join(', ')]] as [string, string][]) : []),
        ]),
      );
      return 0;
    }
    case 'keys': {
      const path = needZone();
      noMore();
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.zoneKeys, { params: { zone: path } });
      const unsigning = r.unsigning ? `Unsigning: ${r.unsigning.stage}, DNSSEC records removed at ${r.unsigning.removeAt ?? '(the DS TTL after the parent drops the DS)'}.\n` : '';
      const keyMaster = `KeyMasterServer: ${r.keyMaster === '' ? '(none: the role is vacant)' : r.keyMaster}${r.isThisServer ? ' (this server)' : ''}\n\n`;
      out(r, () => keyMaster + unsigning + (r.keys.length === 0 ? `Zone ${r.zone} has no signing keys.` : keyTable(r.keys)));
      return 0;
    }
    case 'export-keys': {
      const path = needZone();
      noMore();
      const digest = values.digest;
      if (digest !== undefined && !/^sha(256|384)$/i.test(digest)) throw new UsageError(`--digest must be sha256 or sha384, got "${digest}"`);
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.zoneExportKeys, { params: { zone: path }, query: { digest: digest?.toLowerCase() } });
      if (values.json) out(r, () => '');
      else process.stdout.write(`; dsset-${r.zone}\n${r.dsset}; keyset-${r.zone}\n${r.keyset}`);
      return 0;
    }
    case 'key-master': {
      const path = needZone();
      noMore(1);
      const server = rest[0];
      const client = await connectToServer(values);
      const r = server === undefined ? await client.call(CONTROL_ROUTES.zoneKeyMaster, { params: { zone: path } }) : await client.call(CONTROL_ROUTES.zoneSetKeyMaster, { params: { zone: path }, body: { server, ...(values.seize ? { seize: true } : {}) } });
      out(r, () => formatFields([['ZoneName', r.zone], ['KeyMasterServer', r.keyMaster], ['IsThisServer', r.isThisServer ? 'True' : 'False'], ['FileBacked', r.fileBacked ? 'True' : 'False']]));
      return 0;
    }
    default:
      return undefined;
  }
}

/** The actions that change a zone: add, remove, sign, unsign, record, roll, step-rollover. */
async function runZoneChangeAction(c: ZoneCommandContext): Promise<number | undefined> {
  const { action, zone, rest, values, needZone, noMore, out, keyTable } = c;
  switch (action) {
    case 'add': {
      const path = needZone();
      noMore();
      if ((values.file === undefined) === (values.primary === undefined)) throw new UsageError('zone add needs --file FILE, or --primary ADDR[,ADDR...] for a secondary zone');
      if (values.primary !== undefined) {
        const primaries = values.primary.split(',').map((p) => p.trim()).filter(Boolean);
        const allowTransfer = values['allow-transfer']?.split(',').map((a) => a.trim()).filter(Boolean) ?? [];
        const client = await connectToServer(values);
        const z = (await client.call(CONTROL_ROUTES.zoneAdd, { body: { name: path, primary: primaries, allowTransfer, ...(values.tsig ? { tsig: values.tsig } : {}) } })) as SecondaryView;
        out(z, () => `Added secondary zone ${z.name} from ${z.primaries.join(', ')}: ${z.serial === null ? `not transferred yet (${z.lastError ?? 'trying'})` : `serial ${z.serial}, ${z.names} names${z.signed ? ', signed as transferred' : ''}`}.`);
        return 0;
      }
      if (values.tsig !== undefined) throw new UsageError('--tsig is for a secondary zone (--primary)');
      const allowTransfer = values['allow-transfer']?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
      const client = await connectToServer(values);
      const z = (await client.call(CONTROL_ROUTES.zoneAdd, { body: { name: path, file: values.file!, allowTransfer, ...(values['reuse-keys'] ? { reuseKeys: true } : {}) } })) as ZoneSummary & { keysNote?: string };
      out(z, () => `Added zone ${z.name} from ${z.file} (serial ${z.serial}, ${z.names} names), unsigned.${z.keysNote ? `\nKeys: ${z.keysNote}.` : ''}`);
      return 0;
    }
    case 'remove': {
      const path = needZone();
      noMore();
      const client = await connectToServer(values);
      const r = await client.call(CONTROL_ROUTES.zoneRemove, { params: { zone: path } });
      out(r, () => `Removed zone ${r.name}.`);
      return 0;
    }
    case 'sign': {
      const path = needZone();
      noMore();
      const request = signBody(values);
      const client = await connectToServer(values);
      if (!values.yes) {
        const preview = (await client.call(CONTROL_ROUTES.zoneSign, { params: { zone: path }, body: { ...request, dryRun: true } })) as SignPreview;
        if (preview.needsConfirmation) return refuseUnconfirmedSign(preview, values.json);
      }
      const z = (await client.call(CONTROL_ROUTES.zoneSign, { params: { zone: path }, body: request })) as ZoneSummary & { policy: SigningPolicy; keys: ZoneKeyView[] };
      out(z, () => `Signed zone ${z.name} (serial ${z.serial}, ${z.records} records).\n\n${formatFields(policyFields(z.policy))}\n\n${keyTable(z.keys.filter((k) => k.state !== 'Retired'))}`);
      return 0;
    }
    case 'unsign': {
      const path = needZone();
      noMore();
      const client = await connectToServer(values);
      const z = await client.call(CONTROL_ROUTES.zoneUnsign, { params: { zone: path }, body: values.now ? { now: true } : {} });
      out(z, () =>
        z.unsigning
          ? `Unsigning zone ${z.name}: ${z.unsigning.stage === 'withdrawing-ds' ? 'the parent is asked to remove the DS (CDS/CDNSKEY delete signal); ' : ''}the DNSSEC records are removed ${z.unsigning.removeAt ? `at ${z.unsigning.removeAt}` : 'once the DS is gone and its TTL has passed'}. The zone stays signed until then.`
          : `Unsigned zone ${z.name}: DNSKEY, RRSIG, NSEC/NSEC3 and NSEC3PARAM records removed (keys kept in the key store).`,
      );
      return 0;
    }
    case 'record':
      return runRecordCommand(zone, rest, values, out);
    case 'roll':
    case 'step-rollover': {
      // zone roll ZONE KEY-ID (Invoke-DnsServerSigningKeyRollover); zone step-rollover ZONE KEY-ID (Step-DnsServerSigningKeyRollover).
      const path = needZone();
      if (rest[0] === undefined) throw new UsageError(`zone ${action} needs ZONE KEY (a key tag, a KeyId or a unique KeyId prefix)`);
      noMore(1);
      const client = await connectToServer(values);
      const keyId = selectKey((await client.call(CONTROL_ROUTES.zoneKeys, { params: { zone: path } })).keys, rest[0], zone!).keyId;
      const r = await client.call(action === 'roll' ? CONTROL_ROUTES.zoneKeyRoll : CONTROL_ROUTES.zoneKeyStepRollover, { params: { zone: path, key: keyId } });
      const k = r.keys.find((x) => x.keyId === keyId);
      const status = k?.rollover ? `${k.rollover.currentRolloverStatus}${k.rollover.nextRolloverAction ? `, next: ${k.rollover.nextRolloverAction} at ${k.rollover.nextRolloverActionTime?.replace(/\.\d+Z$/, 'Z') ?? 'when the parent DS is seen'}` : ''}` : (k?.state ?? 'unknown');
      out(r, () => `${action === 'roll' ? 'Rollover started for' : 'Rollover stepped for'} key ${keyId} of ${r.zone}: ${status}.\n\n${keyTable(r.keys.filter((x) => x.state !== 'Retired'))}`);
      return 0;
    }
    default:
      return undefined;
  }
}

/**
 * `zone record add ZONE NAME TYPE RDATA... [--ttl DUR]` and `zone record remove ZONE NAME TYPE
 * [RDATA...]` (no RDATA: the whole RRset). RDATA is the rest of the line, as in a zone file.
 */
async function runRecordCommand(
  op: string | undefined,
  args: readonly string[],
  values: Parameters<typeof connectToServer>[0] & { ttl?: string | undefined },
  out: (data: unknown, human: () => string) => void,
): Promise<number> {
  if (op !== 'add' && op !== 'remove') throw new UsageError('zone record needs add or remove: zone record add|remove ZONE NAME TYPE RDATA');
  const [zone, name, type, ...rdataWords] = args;
  if (zone === undefined || name === undefined || type === undefined) throw new UsageError(`zone record ${op} needs ZONE NAME TYPE${op === 'add' ? ' RDATA' : ' [RDATA]'}`);
  const rdata = rdataWords.join(' ');
  if (op === 'add' && rdata === '') throw new UsageError('zone record add needs the RDATA after the TYPE');
  if (op === 'remove' && values.ttl !== undefined) throw new UsageError('--ttl is for zone record add');
  const body: RecordRequest = { name, type, ...(rdata === '' ? {} : { rdata }), ...(values.ttl === undefined ? {} : { ttl: duration('ttl', values.ttl) }) };
  const client = await connectToServer(values);
  const r = await client.call(op === 'add' ? CONTROL_ROUTES.zoneRecordAdd : CONTROL_ROUTES.zoneRecordRemove, { params: { zone }, body });
  out(r, () => {
    if (!r.changed) return `No change: the record is already in ${r.zone} (serial ${r.serial}).`;
    const lines = [...r.removed.map((t) => `- ${t}`), ...r.added.map((t) => `+ ${t}`)];
    return `${op === 'add' ? 'Added to' : 'Removed from'} ${r.zone} (serial ${r.serial}, ${r.signatures} signature${r.signatures === 1 ? '' : 's'} made):\n${lines.join('\n')}`;
  });
  return 0;
}
