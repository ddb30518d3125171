import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { listenOn } from '../server/dot-listener.js';
import type { TlsCertificate } from '../server/tls-certificate.js';
import { StoreError } from '../store/document-store.js';
import type { AddressInfo, Socket } from 'node:net';
import { formatSocketAddress, isLoopbackAddress, type SocketAddress } from '../config/socket-address.js';
import { ensureControlToken, tokensEqual } from '../control-contract/control-token.js';
import {
  ControlError,
  ControlResponse,
  ControlRouter,
  type ControlHandler,
  type ControlRequest,
  type HttpMethod,
} from './control-router.js';
import { logEvent, type Logger } from '../logging/logger.js';
import type { ControlRoute, RouteReply } from '../control-contract/route.js';
import { ThrottledEventLog } from '../logging/throttled-event-log.js';

export interface ControlApiOptions {
  /** Must be a loopback address; port 0 picks a free port. */
  readonly address: SocketAddress;
  /** Holds `control.token` (created on first start). */
  readonly stateDir: string;
  readonly logger: Logger;
  /** Largest request body accepted; default 1 MiB. */
  readonly maxBodyBytes?: number;
}

export const DEFAULT_MAX_BODY_BYTES = 1 << 20;
/**
 * Open control connections at most; past it new ones are closed at accept. The CLI opens one per
 * command and the console a few per browser: 256 is far above use and bounds what a local
 * process can make us hold.
 */
export const MAX_CONTROL_CONNECTIONS = 256;
/** A connection must have sent its request headers by then (checked every second, not Node's 30 s). */
export const CONTROL_HEADERS_TIMEOUT_MS = 5_000;
/** The whole request, body included (a zone file of 1 MiB on loopback takes milliseconds). */
export const CONTROL_REQUEST_TIMEOUT_MS = 15_000;
const SERVER_OPTIONS = { connectionsCheckingInterval: 1_000, headersTimeout: CONTROL_HEADERS_TIMEOUT_MS, requestTimeout: CONTROL_REQUEST_TIMEOUT_MS, keepAliveTimeout: 5_000 };

/**
 * A route that answers with its own status, headers and body and does its own access check
 * (`/metrics`, the console's pages): it is matched before the bearer token is asked for.
 */
export type RawRouteHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | void;

/**
 * The control API: JSON over HTTP on loopback, every request authenticated by the bearer token
 * in `STATEDIR/control.token`. Features add routes with `registerRoute`, before or after start.
 */
export class ControlApi {
  private readonly router = new ControlRouter();
  private readonly rawRoutes = new Map<string, RawRouteHandler>();
  private readonly secureServers: { server: HttpsServer; certificate: TlsCertificate }[] = [];
  /** Another way in than the bearer token (the console's session cookie); undefined: not its kind of request. */
  private alternativeAuth: ((req: IncomingMessage) => true | undefined) | undefined;
  private readonly maxBodyBytes: number;
  private server: Server | undefined;
  private token: string | undefined;
  private boundAddress: SocketAddress | undefined;
  /** Brings the other processes in step (the DNS workers: flushes applied, counters in); see `synchronizeWith`. */
  private synchronize: (() => Promise<void>) | undefined;

  constructor(private readonly options: ControlApiOptions) {
    this.maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  }

  /** Only routes of the control contract are served, so each has its client. */
  registerRoute<R extends ControlRoute>(route: R, handler: ControlHandler<RouteReply<R>>): void {
    this.router.registerRoute(route.method, route.path, handler);
  }

  /** Every route and raw path registered, as `METHOD /pattern` and `/path`. */
  registered(): { readonly routes: string[]; readonly rawPaths: string[] } {
    return { routes: this.router.list(), rawPaths: [...this.rawRoutes.keys()] };
  }

  /** `path` is matched exactly (no query string); GET and HEAD only, unless the handler checks the method. */
  registerRawRoute(path: string, handler: RawRouteHandler): void {
    if (this.rawRoutes.has(path)) throw new Error(`raw route ${path} is already registered`);
    this.rawRoutes.set(path, handler);
  }

  /**
   * Awaited before a read (so counters kept in other processes are in) and after a change (so what
   * it flushed is flushed everywhere before the caller hears it is done): docs/workers.md.
   */
  synchronizeWith(synchronize: () => Promise<void>): void {
    this.synchronize = synchronize;
  }

  /** Lets requests without an Authorization header in by other means; it throws ControlError to refuse. */
  setAlternativeAuthentication(check: (req: IncomingMessage) => true | undefined): void {
    this.alternativeAuth = check;
  }

  /** The control token, compared in constant time. */
  isToken(presented: string): boolean {
    return this.token !== undefined && tokensEqual(presented, this.token);
  }

  /** The address actually bound (its real port when 0 was asked for). */
  get address(): SocketAddress {
    if (!this.boundAddress) throw new Error('control API is not started');
    return this.boundAddress;
  }

  /** Creates the token if needed, then listens. Refuses a non-loopback address. */
  async start(): Promise<void> {
    const { address, stateDir, logger } = this.options;
    if (!isLoopbackAddress(address.host))
      throw new Error(`control API refuses ${formatSocketAddress(address)}: it listens only on loopback (127.0.0.0/8 or ::1)`);
    const tokenInfo = await ensureControlToken(stateDir);
    this.token = tokenInfo.token;
    if (tokenInfo.created) logEvent(logger, 'control.token-created', { path: tokenInfo.path });
    if (tokenInfo.permissionsTightened)
      logEvent(logger, 'control.token-permissions-fixed', { path: tokenInfo.path }, { level: 'warn', msg: 'token file was readable by others; set to 0600' });

    const server = this.harden(createServer(SERVER_OPTIONS, (req, res) => void this.handle(req, res)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) =>
        reject(new Error(`control API cannot listen on ${formatSocketAddress(address)}: ${error.code ?? error.message}`)),
      );
      server.listen({ host: address.host, port: address.port, exclusive: true }, () => resolve());
    });
    server.on('error', (error) => logEvent(logger, 'control.error', { err: error }, { level: 'error' }));
    this.server = server;
    this.boundAddress = { ...address, port: (server.address() as AddressInfo).port };
  }

  /**
   * Serves every route (the console, and the API under it) over HTTPS on `address` too: any
   * address, since the operator gave a certificate for it. Reloads of the certificate apply.
   */
  async listenSecure(address: SocketAddress, certificate: TlsCertificate): Promise<SocketAddress> {
    const server = this.harden(createHttpsServer({ ...certificate.options, ...SERVER_OPTIONS }, (req, res) => void this.handle(req, res)));
    const bound = await listenOn(server, address);
    certificate.attach(server);
    this.secureServers.push({ server, certificate });
    return bound;
  }

  /** Limits on connections that have not shown a token yet (see MAX_CONTROL_CONNECTIONS). */
  private harden<T extends Server>(server: T): T {
    const { logger } = this.options;
    server.maxConnections = MAX_CONTROL_CONNECTIONS;
    // Node's headersTimeout counts only from a request's first byte: a connection that sends
    // nothing would be held until the client leaves. Once bytes flow, headersTimeout,
    // requestTimeout and keepAliveTimeout take over.
    server.on('connection', (socket: Socket) => {
      const silent = setTimeout(() => socket.destroy(), CONTROL_HEADERS_TIMEOUT_MS);
      silent.unref();
      socket.once('data', () => clearTimeout(silent));
      socket.once('close', () => clearTimeout(silent));
    });
    const refused = new ThrottledEventLog(logger, 'control.connection-refused', 'warn');
    server.on('drop', (drop) => refused.log({ client: drop?.remoteAddress, max: MAX_CONTROL_CONNECTIONS }, 'control connection refused: too many open'));
    return server;
  }

  async stop(): Promise<void> {
    for (const { server, certificate } of this.secureServers.splice(0)) {
      certificate.detach(server);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    }
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let status = 500;
    const raw = this.rawRoutes.get((req.url ?? '/').split('?')[0]!);
    if (raw) {
      try {
        await this.synchronize?.();
        await raw(req, res);
      } catch (error) {
        logEvent(this.options.logger, 'control.handler-failed', { method: req.method, url: req.url, err: error }, { level: 'error' });
        send(res, 500, { error: { code: 'internal', message: 'internal error; see the server log for details' } });
      }
      return;
    }
    try {
      const reply = await this.dispatch(req);
      status = reply.status;
      send(res, reply.status, reply.body, reply.headers);
    } catch (error) {
      const failure =
        error instanceof ControlError ? error : unavailable(error) ?? new ControlError(500, 'internal', 'internal error; see the server log for details');
      if (!(error instanceof ControlError) && failure.status === 500)
        logEvent(this.options.logger, 'control.handler-failed', { method: req.method, url: req.url, err: error }, { level: 'error' });
      status = failure.status;
      const headers: Record<string, string> = {};
      // Without the token a connection gets its answer and is closed: nothing to keep alive for.
      if (failure.status === 401) Object.assign(headers, { 'www-authenticate': 'Bearer realm="keymaster"', connection: 'close' });
      if (failure.status === 413) headers['connection'] = 'close';
      if (failure.status === 405) headers['allow'] = (failure.details as { allowed: string[] }).allowed.join(', ');
      const body = { error: { code: failure.code, message: failure.message, ...(failure.details === undefined ? {} : { details: failure.details }) } };
      send(res, failure.status, body, headers);
    } finally {
      logEvent(
        this.options.logger,
        'control.request',
        { method: req.method, url: req.url, status, ms: Number(process.hrtime.bigint() - started) / 1e6 },
        { level: 'debug' },
      );
    }
  }

  private async dispatch(req: IncomingMessage): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    if (req.headers.authorization !== undefined || this.alternativeAuth?.(req) !== true) this.authenticate(req.headers.authorization);
    const url = new URL(`http://control.invalid${req.url?.startsWith('/') ? req.url : '/'}`);
    const method = (req.method ?? 'GET').toUpperCase();
    const match = this.router.match(method, url.pathname);
    if (match.kind === 'not-found') throw new ControlError(404, 'not-found', `no route for ${method} ${url.pathname}`);
    if (match.kind === 'method-not-allowed')
      throw new ControlError(405, 'method-not-allowed', `${method} is not allowed on ${url.pathname}`, { allowed: match.allowed });
    const request: ControlRequest = {
      method: method as HttpMethod,
      path: decodeURIComponent(url.pathname),
      params: match.params,
      query: url.searchParams,
      body: await readJsonBody(req, this.maxBodyBytes),
    };
    if (method === 'GET') await this.synchronize?.();
    const result = await match.handler(request);
    if (method !== 'GET') await this.synchronize?.();
    if (result instanceof ControlResponse) return { status: result.status, body: result.body };
    return result === undefined ? { status: 204, body: undefined } : { status: 200, body: result };
  }

  private authenticate(header: string | undefined): void {
    const presented = /^Bearer +(\S+) *$/i.exec(header ?? '')?.[1];
    if (presented === undefined) throw new ControlError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <token from control.token>)');
    if (!tokensEqual(presented, this.token ?? '')) throw new ControlError(401, 'unauthorized', 'bad bearer token');
  }
}

async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw new ControlError(413, 'body-too-large', `request body over ${limit} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new ControlError(413, 'body-too-large', `request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (error) {
    throw new ControlError(400, 'bad-json', `request body is not JSON: ${(error as Error).message}`);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  if (body === undefined || status === 204) {
    res.writeHead(status, headers).end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
}

/** The store cannot be reached (cluster mode, etcd down): 503 with the store's words, for every route alike. */
function unavailable(error: unknown): ControlError | undefined {
  return error instanceof StoreError && error.code === 'unavailable' ? new ControlError(503, 'unavailable', error.message) : undefined;
}
