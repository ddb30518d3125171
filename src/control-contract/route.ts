/**
 * A route of the control API as both ends see it: its method, its path pattern (`:name`
 * segments) and, as types only, the JSON body it takes and the one it answers with. The server
 * registers a handler for a route value (control/control-api.ts), the CLI calls the same value
 * (cli/control-client.ts): neither spells a path, so they cannot drift apart.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export interface ControlRoute<Body = unknown, Reply = unknown> {
  readonly method: HttpMethod;
  /** Like `/v1/zones/:zone/keys`. */
  readonly path: string;
  /** Never set: carries the body and reply types from the contract to the two ends. */
  readonly types?: { readonly body: Body; readonly reply: Reply };
}

export type RouteBody<R> = R extends ControlRoute<infer B, unknown> ? B : never;
export type RouteReply<R> = R extends ControlRoute<unknown, infer T> ? T : never;

export function route<Body = undefined, Reply = unknown>(method: HttpMethod, path: string): ControlRoute<Body, Reply> {
  return { method, path };
}

/** The names of a route's `:name` segments, in order. */
export function routeParams(route: ControlRoute): string[] {
  return route.path.split('/').filter((s) => s.startsWith(':')).map((s) => s.slice(1));
}

/**
 * The request path of a route: each `:name` segment percent-encoded from `params` (all are
 * required), then the query parameters that are not undefined. Throws on a missing parameter.
 */
export function routeUrl(route: ControlRoute, params: Readonly<Record<string, string>> = {}, query: Readonly<Record<string, string | undefined>> = {}): string {
  const path = route.path
    .split('/')
    .map((segment) => {
      if (!segment.startsWith(':')) return segment;
      const value = params[segment.slice(1)];
      if (value === undefined) throw new Error(`${route.method} ${route.path}: parameter ${segment} is missing`);
      return encodeURIComponent(value);
    })
    .join('/');
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) search.append(key, value);
  const text = search.toString();
  return text === '' ? path : `${path}?${text}`;
}
