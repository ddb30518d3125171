import type { ControlApi } from './control-api.js';
import type { ListenerInfo, LocalZonesStatus, ResolverStatus, ServerStatus, StatusWarning, WorkerPoolStatus } from '../control-contract/status.js';
import { CONTROL_ROUTES } from '../control-contract/routes.js';

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
  api.registerRoute(CONTROL_ROUTES.status, (): ServerStatus => ({
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
