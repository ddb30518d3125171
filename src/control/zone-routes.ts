import type { SigningPolicy } from '../authority/signing-policy.js';
import type { ControlApi } from './control-api.js';
import { ControlError, type ControlRequest } from './control-router.js';
import { ZoneError, type ZoneErrorCode } from '../authority/zone-error.js';
import type { RecordRequest } from '../authority/record-request.js';
import type { SignRequest } from '../authority/zone-commands.js';
import type { ZoneService } from '../authority/zone-service.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';
import type { ZoneAddReply, ZoneSignReply } from '../control-contract/zones.js';

/** The option names `POST /v1/zones/:zone/sign` accepts in `options`, as SigningPolicy spells them. */
const POLICY_FIELDS: readonly (keyof SigningPolicy)[] = [
  'algorithm', 'kskBits', 'zskBits', 'denial', 'nsec3Iterations', 'nsec3SaltLength', 'nsec3OptOut',
  'dnskeySignatureValidity', 'dsSignatureValidity', 'signatureValidity', 'signatureInception',
  'dnskeyTtl', 'dsTtl', 'dsDigest', 'kskRollover', 'zskRollover', 'rfc5011', 'distributeTrustAnchor',
];

function body(request: ControlRequest): Record<string, unknown> {
  const b = request.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new ControlError(400, 'bad-body', 'the request body must be a JSON object');
  return b as Record<string, unknown>;
}

function text(b: Record<string, unknown>, field: string, required: true): string;
function text(b: Record<string, unknown>, field: string, required?: false): string | undefined;
function text(b: Record<string, unknown>, field: string, required = false): string | undefined {
  const v = b[field];
  if (v === undefined || v === null) {
    if (required) throw new ControlError(400, 'missing-field', `"${field}" is required`);
    return undefined;
  }
  if (typeof v !== 'string') throw new ControlError(400, 'bad-field', `"${field}" must be a string`);
  return v;
}

function signRequest(b: Record<string, unknown>): SignRequest {
  const like = text(b, 'like');
  const options = b['options'];
  const modes = [b['defaults'] === true, like !== undefined, options !== undefined].filter(Boolean).length;
  if (modes > 1) throw new ControlError(400, 'bad-body', 'give one of "defaults", "like" or "options"');
  if (like !== undefined) return { mode: 'like', zone: like };
  if (options === undefined) return { mode: 'defaults' };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new ControlError(400, 'bad-field', '"options" must be an object');
  for (const key of Object.keys(options)) if (!POLICY_FIELDS.includes(key as keyof SigningPolicy)) throw new ControlError(400, 'bad-field', `unknown signing option "${key}"`);
  return { mode: 'options', options: options as Partial<SigningPolicy> };
}

/** The body of `/records`: name, type, rdata (RDATA text; optional to remove an RRset), ttl (seconds, to add). */
function recordRequest(b: Record<string, unknown>, adding: boolean): RecordRequest {
  const ttl = b['ttl'];
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl))) throw new ControlError(400, 'bad-field', '"ttl" must be a whole number of seconds');
  if (!adding && ttl !== undefined) throw new ControlError(400, 'bad-field', '"ttl" is for adding a record');
  const rdata = adding ? text(b, 'rdata', true) : text(b, 'rdata');
  return { name: text(b, 'name', true), type: text(b, 'type', true), ...(rdata === undefined ? {} : { rdata }), ...(ttl === undefined ? {} : { ttl: ttl as number }) };
}

/** The HTTP status of each zone error: the one place a domain code becomes a status. */
const ZONE_ERROR_STATUS: Record<ZoneErrorCode, number> = {
  'bad-zone-name': 400,
  'bad-zone-file': 400,
  'bad-secondary': 400,
  'bad-prefix': 400,
  'bad-signing-options': 400,
  'bad-digest': 400,
  'bad-record': 400,
  'not-in-zone': 400,
  'outside-zones-dir': 403,
  'no-such-zone': 404,
  'no-archived-keys': 404,
  'no-such-record': 404,
  'no-such-key': 404,
  'secondary-zone': 409,
  'zone-exists': 409,
  'config-zone': 409,
  'not-signed': 409,
  'not-key-master': 409,
  'key-master-fixed': 409,
  'not-rollable': 409,
  'already-rolling': 409,
  'not-waiting-for-ds': 409,
  'bad-journal': 500,
  'signing-failed': 500,
  'keys-unreadable': 500,
  'state-not-written': 500,
  'change-failed': 500,
};

/** Control API errors from the zone service's. */
async function call<T>(work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ZoneError) throw new ControlError(ZONE_ERROR_STATUS[error.code], error.code, error.message);
    throw error;
  }
}

/**
 * `/v1/zones`: list and add; `/v1/zones/:zone`: show and remove; `/sign`, `/unsign`, `/keys`,
 * `/export-keys?digest=`, `/key-master` (GET, PUT), `/records` (POST add, DELETE remove).
 * Private keys are never in any reply.
 */
export function registerZoneRoutes(api: ControlApi, zones: ZoneService): void {
  api.registerRoute(CONTROL_ROUTES.zoneList, () => ({ zones: zones.list() }));
  api.registerRoute(CONTROL_ROUTES.zoneAdd, (request) =>
    call<ZoneAddReply>(() => {
      const b = body(request);
      const primary = b['primary'];
      if (primary !== undefined) {
        if (!Array.isArray(primary) || primary.some((p) => typeof p !== 'string')) throw new ControlError(400, 'bad-field', '"primary" must be a list of ADDR[:PORT]');
      }
      const allow = b['allowTransfer'];
      if (allow !== undefined && (!Array.isArray(allow) || allow.some((a) => typeof a !== 'string'))) throw new ControlError(400, 'bad-field', '"allowTransfer" must be a list of CIDR prefixes');
      const reuseKeys = b['reuseKeys'];
      if (reuseKeys !== undefined && typeof reuseKeys !== 'boolean') throw new ControlError(400, 'bad-field', '"reuseKeys" must be true or false');
      if (primary !== undefined) return zones.addSecondary(text(b, 'name', true), primary as string[], text(b, 'tsig'), (allow as string[] | undefined) ?? []);
      return zones.add(text(b, 'name', true), text(b, 'file', true), (allow as string[] | undefined) ?? [], { reuseKeys: reuseKeys === true });
    }),
  );
  api.registerRoute(CONTROL_ROUTES.zoneShow, ({ params }) => call(() => zones.show(params['zone']!)));
  api.registerRoute(CONTROL_ROUTES.zoneRemove, ({ params }) => call(() => zones.remove(params['zone']!)));
  // `dryRun: true`: the preview of what signing would change (sign-preview.ts), nothing done.
  api.registerRoute(CONTROL_ROUTES.zoneSign, (request) =>
    call<ZoneSignReply>(() => {
      const b = body(request);
      const { dryRun, ...rest } = b;
      if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new ControlError(400, 'bad-field', '"dryRun" must be true or false');
      const zone = request.params['zone']!;
      return dryRun ? zones.previewSign(zone, signRequest(rest)) : zones.sign(zone, signRequest(rest));
    }),
  );
  api.registerRoute(CONTROL_ROUTES.zoneUnsign, (request) => call(() => zones.unsign(request.params['zone']!, { now: body(request)['now'] === true })));
  api.registerRoute(CONTROL_ROUTES.zoneKeys, ({ params }) => call(() => zones.keys(params['zone']!)));
  api.registerRoute(CONTROL_ROUTES.zoneExportKeys, ({ params, query }) => call(() => zones.exportKeys(params['zone']!, query.get('digest') ?? undefined)));
  api.registerRoute(CONTROL_ROUTES.zoneKeyMaster, ({ params }) => call(() => zones.keyMasterOf(params['zone']!)));
  api.registerRoute(CONTROL_ROUTES.zoneSetKeyMaster, (request) =>
    call(() => {
      const b = body(request);
      if (b['seize'] !== undefined && typeof b['seize'] !== 'boolean') throw new ControlError(400, 'bad-field', '"seize" must be true or false');
      return zones.setKeyMaster(request.params['zone']!, text(b, 'server', true), b['seize'] === true);
    }),
  );
  // Online signing: one record added or removed, re-signed and journaled before the reply.
  api.registerRoute(CONTROL_ROUTES.zoneRecordAdd, (request) => call(() => zones.addRecord(request.params['zone']!, recordRequest(body(request), true))));
  api.registerRoute(CONTROL_ROUTES.zoneRecordRemove, (request) => call(() => zones.removeRecord(request.params['zone']!, recordRequest(body(request), false))));
  // Key rollover: start a key's rollover now (Invoke-DnsServerSigningKeyRollover); move a KSK
  // waiting for its parent DS on (Step-DnsServerSigningKeyRollover). Both reply with the keys.
  api.registerRoute(CONTROL_ROUTES.zoneKeyRoll, ({ params }) => call(() => zones.rollKey(params['zone']!, params['key']!)));
  api.registerRoute(CONTROL_ROUTES.zoneKeyStepRollover, ({ params }) => call(() => zones.stepKeyRollover(params['zone']!, params['key']!)));
}
