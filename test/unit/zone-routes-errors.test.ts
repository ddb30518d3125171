import { describe, expect, it } from 'vitest';
import { ZoneError, type ZoneErrorCode } from '../../src/authority/zone-error.js';
import type { ControlApi } from '../../src/control/control-api.js';
import { ControlError, type ControlRequest } from '../../src/control/control-router.js';
import { registerZoneRoutes } from '../../src/control/zone-routes.js';
import type { ZoneService } from '../../src/authority/zone-service.js';

type Handler = (request: ControlRequest) => unknown;

/** The zone routes over a zone service that fails every request with `code`. */
function routesFailingWith(code: ZoneErrorCode | 'plain'): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  const api = { registerRoute: (r: { method: string; path: string }, handler: Handler) => handlers.set(`${r.method} ${r.path}`, handler) } as unknown as ControlApi;
  const fail = () => {
    throw code === 'plain' ? new Error('disk on fire') : new ZoneError(code, `failed: ${code}`);
  };
  const zones = new Proxy({}, { get: () => fail }) as unknown as ZoneService;
  registerZoneRoutes(api, zones);
  return handlers;
}

const show = (code: ZoneErrorCode | 'plain'): Promise<unknown> =>
  Promise.resolve().then(() => routesFailingWith(code).get('GET /v1/zones/:zone')!({ method: 'GET', path: '/v1/zones/lab.example', params: { zone: 'lab.example' }, query: new URLSearchParams() } as unknown as ControlRequest));

describe('zone routes: the HTTP layer alone maps a ZoneError code to a status', () => {
  it.each([
    ['bad-zone-name', 400],
    ['bad-signing-options', 400],
    ['outside-zones-dir', 403],
    ['no-such-zone', 404],
    ['no-such-key', 404],
    ['zone-exists', 409],
    ['not-key-master', 409],
    ['not-waiting-for-ds', 409],
    ['state-not-written', 500],
    ['signing-failed', 500],
  ] as const)('%s is %i, the code and message kept', async (code, status) => {
    const error = await show(code).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ControlError);
    expect(error).toMatchObject({ status, code, message: `failed: ${code}` });
  });

  it('an error that is not a ZoneError is not dressed up as one', async () => {
    const error = await show('plain').catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(ControlError);
    expect((error as Error).message).toBe('disk on fire');
  });

  it('the domain error carries no HTTP status', () => {
    expect(Object.keys(new ZoneError('no-such-zone', 'x'))).not.toContain('status');
  });
});
