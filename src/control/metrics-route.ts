import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ControlApi } from './control-api.js';
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from '../metrics/metrics-exposition.js';
import type { ServerMetrics } from '../metrics/server-metrics.js';
import { RAW_PATHS } from '../control-contract/routes.js';

/**
 * A Host header that names this machine by address or as localhost. Anything else is a web page
 * that had its own name resolve to 127.0.0.1 (DNS rebinding) and would otherwise read an
 * unauthenticated loopback endpoint as same-origin.
 */
export function isLocalHostHeader(host: string | undefined): boolean {
  if (host === undefined) return false;
  const bare = host.replace(/:\d{1,5}$/, '');
  if (/^\[[0-9a-f:.]+\]$/i.test(bare)) return true;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(bare)) return true;
  return bare.toLowerCase() === 'localhost';
}

/**
 * `GET /metrics` without the bearer token, as Prometheus scrapes Unbound's and BIND's exporters:
 * the control address is loopback only, the figures are counts and times (no secrets, nothing
 * changes), and a scraper then needs no copy of the token that can change zones and anchors.
 */
export function registerMetricsRoute(api: ControlApi, metrics: ServerMetrics): void {
  api.registerRawRoute(RAW_PATHS.metrics, async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    // The console's HTTPS address may face the network: metrics stay on the loopback control address.
    if (!isLocalHostHeader(req.headers.host) || (req.socket as { encrypted?: boolean }).encrypted === true) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('Host must be an address or localhost\n');
      return;
    }
    const text = renderMetrics(await metrics.collect());
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  });
}
