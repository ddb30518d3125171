/**
 * Routing for the control API. Each feature registers its routes on the ControlApi:
 *
 *   api.registerRoute(CONTROL_ROUTES.zoneKeys, ({ params }) => zones.keys(params['zone']!));
 *
 * Routes are values of the control contract (src/control-contract/routes.ts), which the CLI calls.
 *
 * A handler returns the JSON body (200), a ControlResponse for another status, or undefined
 * (204); it throws ControlError for a client-visible failure (anything else is a 500).
 */

import type { ControlErrorCode } from '../control-contract/errors.js';
import type { HttpMethod } from '../control-contract/route.js';

export { HTTP_METHODS, type HttpMethod } from '../control-contract/route.js';

export interface ControlRequest {
  readonly method: HttpMethod;
  /** The decoded path, without the query string. */
  readonly path: string;
  /** `:name` segments of the route pattern, URL-decoded. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The parsed JSON body, or undefined when the request had none. */
  readonly body: unknown;
}

/** Returns the route's reply (200), a ControlResponse carrying it with another status, or undefined (204). */
export type ControlHandler<Reply = unknown> = (request: ControlRequest) => Reply | ControlResponse<Reply> | undefined | Promise<Reply | ControlResponse<Reply> | undefined>;

/** A body with a status other than 200 (e.g. 201, 202). */
export class ControlResponse<Body = unknown> {
  constructor(
    readonly status: number,
    readonly body?: Body,
  ) {}
}

/** A failure the client should see: `{ "error": { "code", "message", "details"? } }` with `status`. */
export class ControlError extends Error {
  override readonly name = 'ControlError';
  constructor(
    readonly status: number,
    readonly code: ControlErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

type Segment = { readonly literal: string } | { readonly param: string };

interface Route {
  readonly method: HttpMethod;
  readonly pattern: string;
  readonly segments: readonly Segment[];
  readonly handler: ControlHandler;
}

export type RouteMatch =
  | { readonly kind: 'found'; readonly handler: ControlHandler; readonly params: Record<string, string> }
  | { readonly kind: 'method-not-allowed'; readonly allowed: readonly HttpMethod[] }
  | { readonly kind: 'not-found' };

function splitPath(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

export class ControlRouter {
  private readonly routes: Route[] = [];

  /** `pattern` is like `/v1/zones/:zone/keys`; registering the same method and shape twice throws. */
  registerRoute(method: HttpMethod, pattern: string, handler: ControlHandler): void {
    if (!pattern.startsWith('/')) throw new Error(`route pattern must start with "/": ${pattern}`);
    const segments: Segment[] = splitPath(pattern).map((s) => {
      if (!s.startsWith(':')) return { literal: s };
      if (!/^:[A-Za-z_][A-Za-z0-9_]*$/.test(s)) throw new Error(`bad parameter "${s}" in route ${pattern}`);
      return { param: s.slice(1) };
    });
    const shape = (segs: readonly Segment[]) => segs.map((s) => ('literal' in s ? s.literal : ':')).join('/');
    const clash = this.routes.find((r) => r.method === method && shape(r.segments) === shape(segments));
    if (clash) throw new Error(`route ${method} ${pattern} is already registered as ${clash.pattern}`);
    this.routes.push({ method, pattern, segments, handler });
  }

  /** What is registered, as `METHOD /pattern`. */
  list(): string[] {
    return this.routes.map((r) => `${r.method} ${r.pattern}`);
  }

  /** Matches a raw (still percent-encoded) path. Literal segments win over parameters. */
  match(method: string, rawPath: string): RouteMatch {
    const parts = splitPath(rawPath);
    const candidates: { route: Route; params: Record<string, string>; literals: number }[] = [];
    for (const route of this.routes) {
      const params = matchSegments(route.segments, parts);
      if (params) candidates.push({ route, params, literals: route.segments.filter((s) => 'literal' in s).length });
    }
    if (candidates.length === 0) return { kind: 'not-found' };
    const forMethod = candidates.filter((c) => c.route.method === method).sort((a, b) => b.literals - a.literals)[0];
    if (forMethod) return { kind: 'found', handler: forMethod.route.handler, params: forMethod.params };
    return { kind: 'method-not-allowed', allowed: [...new Set(candidates.map((c) => c.route.method))] };
  }
}

function matchSegments(segments: readonly Segment[], parts: readonly string[]): Record<string, string> | undefined {
  if (segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, segment] of segments.entries()) {
    let part: string;
    try {
      part = decodeURIComponent(parts[i]!);
    } catch {
      return undefined;
    }
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
    } else params[segment.param] = part;
  }
  return params;
}
