import { request } from 'node:http';
import { formatSocketAddress, type SocketAddress } from '../config/socket-address.js';
import { routeUrl, type ControlRoute, type HttpMethod, type RouteBody, type RouteReply } from '../control-contract/route.js';

export type ControlClientErrorKind = 'not-running' | 'unauthorized' | 'http' | 'network' | 'timeout' | 'protocol';

export class ControlClientError extends Error {
  override readonly name = 'ControlClientError';
  constructor(
    readonly kind: ControlClientErrorKind,
    message: string,
    /** HTTP status and the server's error code, for `unauthorized` and `http`. */
    readonly status?: number,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Talks JSON to a running server's control API with its bearer token. */
export class ControlClient {
  constructor(
    readonly address: SocketAddress,
    private readonly token: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /** Calls a route of the control contract: its path from `params` and `query`, its body and reply typed by the contract. */
  call<R extends ControlRoute>(route: R, options: { readonly params?: Readonly<Record<string, string>>; readonly query?: Readonly<Record<string, string | undefined>>; readonly body?: RouteBody<R> } = {}): Promise<RouteReply<R>> {
    return this.request<RouteReply<R>>(route.method, routeUrl(route, options.params, options.query), options.body);
  }

  get<T = unknown>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** Resolves with the parsed JSON body (undefined for 204); rejects with ControlClientError. */
  request<T = unknown>(method: HttpMethod, path: string, body?: unknown): Promise<T> {
    const where = formatSocketAddress(this.address);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(
        {
          host: this.address.host,
          port: this.address.port,
          family: this.address.family,
          method,
          path,
          headers: {
            authorization: `Bearer ${this.token}`,
            accept: 'application/json',
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', (error) => reject(new ControlClientError('network', `reading the reply from ${where}: ${error.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              reject(new ControlClientError('protocol', `${where} answered with something that is not JSON (is it a Keymaster control API?)`));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(parsed as T);
            const error = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
            const message = error?.message ?? `HTTP ${status}`;
            if (status === 401)
              reject(new ControlClientError('unauthorized', `the server at ${where} refused the control token: ${message}`, status, error?.code));
            else reject(new ControlClientError('http', message, status, error?.code));
          });
        },
      );
      req.on('timeout', () => req.destroy(new ControlClientError('timeout', `no reply from ${where} within ${this.timeoutMs / 1000}s`)));
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error instanceof ControlClientError) return reject(error);
        if (error.code === 'ECONNREFUSED')
          return reject(new ControlClientError('not-running', `no Keymaster server is running at ${where} (connection refused); start one with "keymaster serve"`));
        reject(new ControlClientError('network', `cannot reach the control API at ${where}: ${error.code ?? error.message}`));
      });
      req.end(payload);
    });
  }
}
