import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONTROL_ERROR_CODES } from '../../src/control-contract/errors.js';
import { routeParams, routeUrl, route } from '../../src/control-contract/route.js';
import { CONTROL_ROUTES, RAW_PATHS } from '../../src/control-contract/routes.js';
import { ControlApi } from '../../src/control/control-api.js';
import { ControlRouter } from '../../src/control/control-router.js';
import { registerCacheRoutes } from '../../src/control/cache-routes.js';
import { registerClusterRoute } from '../../src/control/cluster-route.js';
import { registerConsoleRoutes } from '../../src/control/console-route.js';
import { ConsoleSessions } from '../../src/control/console-sessions.js';
import { registerExplainRoute } from '../../src/control/explain-route.js';
import { registerMetricsRoute } from '../../src/control/metrics-route.js';
import { registerPolicyRoutes } from '../../src/control/policy-routes.js';
import { registerStatusRoute } from '../../src/control/status-route.js';
import { registerTrustRoutes } from '../../src/control/trust-routes.js';
import { registerZoneRoutes } from '../../src/control/zone-routes.js';
import { createLogger } from '../../src/logging/logger.js';

/** Registration only keeps the services in closures: nothing is called on these stand-ins. */
const unused = {} as never;

function everyRoute(): ControlApi {
  const api = new ControlApi({ address: { host: '127.0.0.1', port: 0, family: 4 }, stateDir: '/nonexistent', logger: createLogger({ level: 'silent' }) } as never);
  registerStatusRoute(api, { version: 'test', startedAt: new Date(0), configFile: undefined, stateDir: '/x', listeners: () => [], now: () => 0 });
  registerExplainRoute(api, unused);
  registerCacheRoutes(api, unused, unused);
  registerClusterRoute(api, undefined);
  registerZoneRoutes(api, unused);
  registerTrustRoutes(api, unused, () => 0);
  registerPolicyRoutes(api, unused, { validation: true, now: () => 0 });
  registerMetricsRoute(api, unused);
  registerConsoleRoutes(api, new ConsoleSessions(() => 0, () => []));
  return api;
}

describe('the control contract: one definition of each route, for the server and the CLI', () => {
  it('the server registers exactly the routes of the contract, and nothing else', () => {
    const { routes, rawPaths } = everyRoute().registered();
    const contract = Object.values(CONTROL_ROUTES).map((r) => `${r.method} ${r.path}`);
    expect([...routes].sort()).toEqual([...contract].sort());
    expect([...rawPaths].sort()).toEqual(Object.values(RAW_PATHS).sort());
  });

  it('serve wires every route group of control/ (so a registered group is a served one)', () => {
    // Comments stripped: a call commented out is not a call.
    const serve = readdirSync('src/serve')
      .map((f) => readFileSync(join('src/serve', f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, ''))
      .join('\n');
    const groups = readdirSync('src/control')
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join('src/control', f), 'utf8').matchAll(/export function (register\w+)\(api: ControlApi/g)].map((m) => m[1]!));
    expect(groups.length).toBeGreaterThanOrEqual(8);
    expect(groups.filter((g) => !new RegExp(`\\b${g}\\(`).test(serve))).toEqual([]);
  });

  it('each route the CLI builds is matched by the server to the same route and parameters, awkward names included', () => {
    const router = new ControlRouter();
    for (const [name, r] of Object.entries(CONTROL_ROUTES)) router.registerRoute(r.method, r.path, () => name);
    for (const [name, r] of Object.entries(CONTROL_ROUTES)) {
      for (const value of ['example.com.', 'a b/c?d#e%f.', 'xn--bcher-kva.example.', '\\046.example.']) {
        const params = Object.fromEntries(routeParams(r).map((p) => [p, value]));
        const match = router.match(r.method, new URL(`http://control.invalid${routeUrl(r, params)}`).pathname);
        expect(match.kind, `${name} with ${value}`).toBe('found');
        if (match.kind !== 'found') continue;
        expect(match.handler({} as never), `${name} with ${value}`).toBe(name);
        expect(match.params).toEqual(params);
      }
    }
  });

  it('query parameters travel as given; absent ones are left out; a missing path parameter is refused', () => {
    expect(routeUrl(CONTROL_ROUTES.trustAnchorRemove, {}, { zone: '.', keyTag: '20326' })).toBe('/v1/trust-anchors?zone=.&keyTag=20326');
    expect(routeUrl(CONTROL_ROUTES.trustAnchorList, {}, { zone: undefined })).toBe('/v1/trust-anchors');
    expect(routeUrl(CONTROL_ROUTES.zoneExportKeys, { zone: 'example.' }, { digest: 'sha256' })).toBe('/v1/zones/example./export-keys?digest=sha256');
    expect(() => routeUrl(CONTROL_ROUTES.zoneKeyRoll, { zone: 'example.' })).toThrow(/:key is missing/);
  });

  it('no two routes share a method and a path shape, and error codes are unique', () => {
    const shapes = Object.values(CONTROL_ROUTES).map((r) => `${r.method} ${r.path.replace(/:[^/]+/g, ':')}`);
    expect(new Set(shapes).size).toBe(shapes.length);
    expect(new Set(CONTROL_ERROR_CODES).size).toBe(CONTROL_ERROR_CODES.length);
  });

  it('a route outside the contract is still served by the HTTP layer only when registered by value (the contract type)', () => {
    const api = new ControlApi({ address: { host: '127.0.0.1', port: 0, family: 4 }, stateDir: '/nonexistent', logger: createLogger({ level: 'silent' }) } as never);
    api.registerRoute(route('GET', '/v1/x'), () => 1);
    expect(api.registered().routes).toEqual(['GET /v1/x']);
  });
});

describe('error bodies carry a code of the contract', () => {
  it('every code the HTTP layer throws is one of the contract', () => {
    const thrown = readdirSync('src/control')
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join('src/control', f), 'utf8').matchAll(/new ControlError\(\d+, '([a-z0-9-]+)'/g)].map((m) => m[1]!));
    expect(thrown.length).toBeGreaterThan(20);
    expect([...new Set(thrown)].filter((c) => !(CONTROL_ERROR_CODES as readonly string[]).includes(c))).toEqual([]);
  });

  it('no error is mapped to a code by matching its message', () => {
    const byMessage = readdirSync('src/control')
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => /\.test\((?:error|e|err)\.message\)|(?:error|e|err)\.message\.(?:match|includes|startsWith)\(/.test(readFileSync(join('src/control', f), 'utf8')));
    expect(byMessage).toEqual([]);
  });
});

/**
 * The web console is plain JavaScript and cannot import the contract: each `api(METHOD, path)`
 * call in console/app.js must still be a route of it. A path given by a variable is read from the
 * variable's nearest definition above the call; `${...}` stands for a parameter.
 */
describe('the web console calls only routes of the contract', () => {
  const lines = readFileSync('src/control/console/app.js', 'utf8').split('\n');
  const definition = (name: string, before: number): string | undefined => {
    for (let i = before; i >= 0; i--) {
      const m = new RegExp(`const ${name} = (?:\\([^)]*\\) => )?\`([^\`]+)\``).exec(lines[i]!);
      if (m) return m[1];
      // A parameter of the function the call is in: not known here.
      const params = /function \w+\(([^)]*)\)/.exec(lines[i]!)?.[1];
      if (params?.split(',').some((p) => p.trim() === name)) return undefined;
    }
    return undefined;
  };
  const resolvePath = (expr: string, at: number): string | undefined => {
    const literal = /^['`]([^'`]+)['`]/.exec(expr);
    const text = literal ? literal[1]! : definition(expr, at);
    if (text === undefined) return undefined;
    return text.replace(/^\$\{(\w+)(?:\([^)]*\))?\}/, (_, name: string) => definition(name, at) ?? '?');
  };
  const calls = lines.flatMap((line, i) =>
    [...line.matchAll(/api\('([A-Z]+)', ([a-zA-Z]+|'[^']*'|`[^`]*`)/g)].map((m) => ({ line: i + 1, method: m[1]!, path: resolvePath(m[2]!, i) })),
  );

  it('every call resolves to a contract route with its method', () => {
    const router = new ControlRouter();
    for (const [name, r] of Object.entries(CONTROL_ROUTES)) router.registerRoute(r.method, r.path, () => name);
    // signConfirmed(path, body) takes its path from signForms' `path`, which is checked below.
    const resolved = calls.filter((c) => c.path !== undefined);
    expect(calls.length - resolved.length).toBeLessThanOrEqual(2);
    expect(resolved.length).toBeGreaterThanOrEqual(12);
    const stray = resolved
      .map((c) => ({ ...c, url: c.path!.split('?')[0]!.replace(/\$\{[^}]*\}/g, 'x.') }))
      .filter((c) => router.match(c.method, c.url).kind !== 'found')
      .map((c) => `app.js:${c.line} ${c.method} ${c.path}`);
    expect(stray).toEqual([]);
    const signPath = definition('path', lines.findIndex((l) => l.startsWith('function signForms')) + 1);
    expect(router.match('POST', signPath!.replace(/\$\{[^}]*\}/g, 'x.')).kind).toBe('found');
  });
});
