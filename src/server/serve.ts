import { mkdir } from 'node:fs/promises';
import type { KeymasterConfig } from '../config/schema.js';
import { systemClock } from '../clock.js';
import { formatSocketAddress } from '../config/socket-address.js';
import { ControlApi } from './control-api.js';
import { startDnsListeners } from './dns-listeners.js';
import { createResolverService, registerCacheRoutes, resolverStatus } from './resolver-service.js';
import { logEvent, type Logger } from './logger.js';
import { registerStatusRoute, type ListenerInfo } from './status-route.js';
import { KEYMASTER_VERSION } from './version.js';

export interface ServeOptions {
  readonly config: KeymasterConfig;
  /** The file the config came from (for status), or undefined for built-in defaults. */
  readonly configFile: string | undefined;
  readonly logger: Logger;
}

export interface RunningServer {
  readonly control: ControlApi;
  readonly startedAt: Date;
  listeners(): readonly ListenerInfo[];
  /** Closes every listener; safe to call more than once. */
  stop(reason?: string): Promise<void>;
}

/** Starts the control API and the DNS listeners; logs `server.started` once all are up. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { config, configFile, logger } = options;
  const startedAt = new Date();
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });

  const control = new ControlApi({ address: config.control, stateDir: config.stateDir, logger });
  const pipeline = await createResolverService(config, systemClock, logger);
  registerCacheRoutes(control, pipeline, logger);
  let dns: { listeners: readonly ListenerInfo[]; close(): Promise<void> } = { listeners: [], close: async () => {} };
  const listeners = (): ListenerInfo[] => [
    { purpose: 'control', protocol: 'http', address: formatSocketAddress(control.address) },
    ...dns.listeners,
  ];
  registerStatusRoute(control, {
    version: KEYMASTER_VERSION,
    startedAt,
    configFile,
    stateDir: config.stateDir,
    listeners,
    resolver: () => resolverStatus(pipeline),
    now: Date.now,
  });

  await control.start();
  try {
    dns = await startDnsListeners(config.listen, pipeline.handle, logger);
  } catch (error) {
    await control.stop();
    throw error;
  }
  logEvent(
    logger,
    'server.started',
    { version: KEYMASTER_VERSION, configFile: configFile ?? null, stateDir: config.stateDir, listeners: listeners() },
    { msg: 'Keymaster started' },
  );

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'requested'): Promise<void> =>
    (stopping ??= (async () => {
      await dns.close();
      await control.stop();
      logEvent(logger, 'server.stopped', { reason }, { msg: 'Keymaster stopped' });
    })());
  return { control, startedAt, listeners, stop };
}
