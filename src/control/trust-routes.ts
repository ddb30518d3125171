import { resolve } from 'node:path';
import { AnchorInputError } from '../trust/anchor-import.js';
import { RootAnchorsError } from '../trust/root-anchors-xml.js';
import { TrustStoreWriteError } from '../trust/trust-anchor-store.js';
import { zoneKey, type AnchorType } from '../trust/trust-point.js';
import { anchorView, trustPointDetail, trustPointView } from '../trust/trust-views.js';
import type { ControlApi } from './control-api.js';
import { ControlError, ControlResponse, type ControlRequest } from './control-router.js';
import type { TrustService } from '../trust/trust-service.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

/**
 * Control API routes for `keymaster trust-point` and `trust-anchor`. A zone travels in the
 * query string or the body, never as a path segment: the root's "." would be taken for a
 * dot-segment by URL normalisation.
 *
 *   GET    /v1/trust-points[?zone=Z]          list, or one trust point with its anchors
 *   POST   /v1/trust-points/root              {url?|file?}      add-root
 *   POST   /v1/trust-points/refresh           {zone}            active refresh now
 *   DELETE /v1/trust-points?zone=Z                              remove a trust point
 *   GET    /v1/trust-anchors[?zone=Z]                           anchors (of a zone)
 *   POST   /v1/trust-anchors                  {zone, ds?|dnskey?}
 *   POST   /v1/trust-anchors/import           {kind, fileName, text}
 *   DELETE /v1/trust-anchors?zone=Z&keyTag=N
 */

function zoneParam(value: unknown, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ControlError(400, 'bad-zone', `${where}: a zone name is required`);
  try {
    return zoneKey(value.trim());
  } catch (error) {
    throw new ControlError(400, 'bad-zone', `"${value}" is not a domain name: ${(error as Error).message}`);
  }
}

function body(request: ControlRequest): Record<string, unknown> {
  const b = request.body ?? {};
  if (typeof b !== 'object' || Array.isArray(b)) throw new ControlError(400, 'bad-body', 'the request body must be a JSON object');
  return b as Record<string, unknown>;
}

/**
 * Bad operator input (file, RDATA, XML) becomes a 400 with its message; a change the store could
 * not write a 503 (nothing was changed: the operator may try again); anything else stays a 500.
 */
async function inputErrors<T>(run: () => Promise<T> | T): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof AnchorInputError || error instanceof RootAnchorsError) throw new ControlError(400, 'bad-anchor', error.message);
    if (error instanceof TrustStoreWriteError) throw new ControlError(503, 'store-write-failed', error.message);
    throw error;
  }
}

export function registerTrustRoutes(api: ControlApi, trust: TrustService, now: () => number): void {
  const notFound = (zone: string) => new ControlError(404, 'no-trust-point', `no trust point for ${zone}`);

  api.registerRoute(CONTROL_ROUTES.trustPointList, ({ query }) => {
    const zone = query.get('zone');
    if (zone === null) return { trustPoints: trust.store.list().map((tp) => trustPointView(tp, now())) };
    const tp = trust.store.get(zoneParam(zone, 'zone'));
    if (!tp) throw notFound(zoneParam(zone, 'zone'));
    return trustPointDetail(tp, now());
  });

  api.registerRoute(CONTROL_ROUTES.trustPointRemove, ({ query }) =>
    inputErrors(async () => {
      const zone = zoneParam(query.get('zone'), 'zone');
      if (!(await trust.removeTrustPoint(zone))) throw notFound(zone);
      return { zone, removed: true };
    }),
  );

  api.registerRoute(CONTROL_ROUTES.trustPointAddRoot, (request) =>
    inputErrors(async () => {
      const b = body(request);
      if (b['url'] !== undefined && b['file'] !== undefined) throw new ControlError(400, 'bad-body', 'give url or file, not both');
      let location: { kind: 'url'; url: string } | { kind: 'file'; path: string };
      if (typeof b['file'] === 'string') location = { kind: 'file', path: resolve(b['file']) };
      else if (typeof b['url'] === 'string') {
        if (!/^https?:\/\//i.test(b['url'])) throw new ControlError(400, 'bad-url', `"${b['url']}": only http and https URLs are fetched`);
        location = { kind: 'url', url: b['url'] };
      } else if (b['url'] === undefined && b['file'] === undefined) {
        const configured = trust.configuredRootAnchors();
        if (configured.kind === 'none') throw new ControlError(400, 'no-root-anchors', 'trustAnchors.rootAnchors is "none"; give --url or --file');
        location = configured;
      } else throw new ControlError(400, 'bad-body', 'url and file must be strings');
      const result = await trust.addRoot(location);
      return new ControlResponse(result.added > 0 ? 201 : 200, {
        zone: result.zone,
        added: result.added,
        skipped: result.skipped,
        from: result.from,
        ...(result.fallbackReason === undefined ? {} : { fallbackReason: result.fallbackReason }),
        trustPoint: trustPointDetail(result.trustPoint, now()),
      });
    }),
  );

  api.registerRoute(CONTROL_ROUTES.trustPointRefresh, (request) =>
    inputErrors(async () => {
      const zone = zoneParam(body(request)['zone'], 'zone');
      if (!trust.store.get(zone)) throw notFound(zone);
      const outcome = await trust.refresh(zone);
      await trust.store.sync(); // the state changes the reply reports are on disk
      const tp = trust.store.get(zone);
      return { ...outcome, nextRefresh: outcome.nextRefresh === undefined ? undefined : new Date(outcome.nextRefresh).toISOString(), trustPoint: tp ? trustPointDetail(tp, now()) : null };
    }),
  );

  api.registerRoute(CONTROL_ROUTES.trustAnchorList, ({ query }) => {
    const zone = query.get('zone');
    const points = zone === null ? trust.store.list() : [trust.store.get(zoneParam(zone, 'zone'))].filter((tp) => tp !== undefined);
    if (zone !== null && points.length === 0) throw notFound(zoneParam(zone, 'zone'));
    return { anchors: points.flatMap((tp) => tp.anchors.map((a) => anchorView(tp.zone, a, now()))) };
  });

  api.registerRoute(CONTROL_ROUTES.trustAnchorAdd, (request) =>
    inputErrors(async () => {
      const b = body(request);
      const zone = zoneParam(b['zone'], 'zone');
      const given = (['ds', 'dnskey'] as const).filter((k) => b[k] !== undefined);
      if (given.length !== 1 || typeof b[given[0]!] !== 'string') throw new ControlError(400, 'bad-body', 'give exactly one of ds or dnskey, as RDATA text');
      const type: AnchorType = given[0] === 'ds' ? 'DS' : 'DNSKEY';
      const result = await trust.addAnchor(zone, type, b[given[0]!] as string);
      return new ControlResponse(result.added > 0 ? 201 : 200, { zone, added: result.added, skipped: result.skipped, trustPoint: trustPointDetail(result.trustPoint, now()) });
    }),
  );

  api.registerRoute(CONTROL_ROUTES.trustAnchorImport, (request) =>
    inputErrors(async () => {
      const b = body(request);
      if (b['kind'] !== 'keyset' && b['kind'] !== 'dsset') throw new ControlError(400, 'bad-body', 'kind must be "keyset" or "dsset"');
      if (typeof b['text'] !== 'string' || typeof b['fileName'] !== 'string') throw new ControlError(400, 'bad-body', 'text and fileName must be strings');
      const result = await trust.importKeyFile(b['kind'], b['text'], b['fileName']);
      return new ControlResponse(result.added > 0 ? 201 : 200, { zone: result.zone, added: result.added, skipped: result.skipped, trustPoint: trustPointDetail(result.trustPoint, now()) });
    }),
  );

  api.registerRoute(CONTROL_ROUTES.trustAnchorRemove, ({ query }) =>
    inputErrors(async () => {
      const zone = zoneParam(query.get('zone'), 'zone');
      const tagText = query.get('keyTag') ?? '';
      if (!/^[0-9]{1,5}$/.test(tagText) || Number(tagText) > 0xffff) throw new ControlError(400, 'bad-key-tag', `keyTag: "${tagText}" is not a key tag (0..65535)`);
      if (!trust.store.get(zone)) throw notFound(zone);
      const result = await trust.removeAnchor(zone, Number(tagText));
      if (result.removed === 0) throw new ControlError(404, 'no-trust-anchor', `${zone} has no anchor with key tag ${tagText}`);
      return { zone, keyTag: Number(tagText), ...result };
    }),
  );
}
