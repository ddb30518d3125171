import type { ControlApi } from './control-api.js';
import type { ResolverStatus } from './resolver-service.js';
import type { LocalZonesStatus } from './good-citizen-service.js';
import type { WorkerPoolStatus } from './worker-pool.js';

/** One socket the server has open. */
export interface ListenerInfo {
  readonly purpose: 'dns' | 'control';
  readonly protocol: 'udp' | 'tcp' | 'tls' | 'https' | 'http';
  /** `127.0.0.1:5300`, `[::1]:53`. */
  readonly address: string;
}

/** The body of `GET /v1/status`. */
export interface ServerStatus {
  readonly version: string;
  readonly pid: number;
  /** ISO 8601. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly listeners: readonly ListenerInfo[];
  /** Absolute path of the config file read, or null when built-in defaults are in use. */
  readonly configFile: string | null;
  readonly stateDir: string;
  /** Present once the DNS side runs. */
  readonly resolver?: ResolverStatus;
  /** Configuration an operator should change (an open resolver), each with its log event name. */
  readonly warnings: readonly StatusWarning[];
  /** The RFC 6761/6303/7686/8375 zones answered here and what is done with each. */
  readonly localZones?: LocalZonesStatus;
  /** With `workers` > 1: the DNS worker processes (docs/workers.md). */
  readonly workers?: WorkerPoolStatus;
}

export interface StatusWarning {
  readonly event: string;
  readonly detail: string;
}

export interface StatusSource {
  readonly version: string;
  readonly startedAt: Date;
  readonly configFile: string | undefined;
  readonly stateDir: string;
  readonly warnings?: readonly StatusWarning[];
  /** Read on every request: listeners come and go. */
  listeners(): readonly ListenerInfo[];
  resolver?(): ResolverStatus | undefined;
  localZones?(): LocalZonesStatus;
  workers?(): WorkerPoolStatus | undefined;
  now(): number;
}

export function registerStatusRoute(api: ControlApi, source: StatusSource): void {
  api.registerRoute('GET', '/v1/status', (): ServerStatus => ({
    version: source.version,
    pid: process.pid,
    startedAt: source.startedAt.toISOString(),
    uptimeSeconds: Math.max(0, Math.floor((source.now() - source.startedAt.getTime()) / 1000)),
    listeners: source.listeners(),
    configFile: source.configFile ?? null,
    stateDir: source.stateDir,
    warnings: source.warnings ?? [],
    ...(source.resolver?.() ? { resolver: source.resolver()! } : {}),
    ...(source.localZones ? { localZones: source.localZones() } : {}),
    ...(source.workers?.() ? { workers: source.workers()! } : {}),
  }));
}
