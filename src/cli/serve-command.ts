import { parseArgs } from 'node:util';
import { resolveConfig } from '../config/loader.js';
import { createLogger, logEvent, type Logger } from '../logging/logger.js';
import { startServer, type RunningServer } from '../serve/serve.js';
import { SERVE_USAGE, UsageError } from './usage.js';

/** Resolves with the exit status once a SIGINT/SIGTERM has stopped the server; a second signal exits at once. */
function stopOnSignal(server: RunningServer, logger: Logger): Promise<number> {
  return new Promise((resolve) => {
    let received = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (received) {
        logEvent(logger, 'server.killed', { signal }, { level: 'warn', msg: 'second signal: exiting without a clean stop' });
        process.exit(1);
      }
      received = true;
      logEvent(logger, 'server.stopping', { signal });
      const done = (code: number) => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(code);
      };
      server.stop(signal).then(
        () => done(0),
        (error: unknown) => {
          logEvent(logger, 'server.stop-failed', { err: error }, { level: 'error' });
          done(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function runServeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'state-dir': { type: 'string' },
      'root-hints': { type: 'string' },
      'root-anchors': { type: 'string' },
      control: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(SERVE_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);

  const { config, file } = await resolveConfig({
    ...(values.config === undefined ? {} : { file: values.config }),
    overrides: {
      ...(values.listen === undefined ? {} : { listen: values.listen }),
      ...(values['state-dir'] === undefined ? {} : { stateDir: values['state-dir'] }),
      ...(values['root-hints'] === undefined ? {} : { rootHints: values['root-hints'] }),
      ...(values['root-anchors'] === undefined ? {} : { rootAnchors: values['root-anchors'] }),
      ...(values.control === undefined ? {} : { control: values.control }),
    },
  });
  const logger = createLogger({ level: config.log.level });
  let server: RunningServer;
  try {
    server = await startServer({ config, configFile: file, logger });
  } catch (error) {
    logEvent(logger, 'server.start-failed', { err: error }, { level: 'fatal', msg: (error as Error).message });
    throw error;
  }
  return stopOnSignal(server, logger);
}
