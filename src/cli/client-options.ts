import { resolveConfig } from '../config/loader.js';
import { readControlToken, controlTokenPath } from '../control-contract/control-token.js';
import { ControlClient, ControlClientError } from './control-client.js';

/** The flags every control-API client verb takes, for `util.parseArgs`. */
export const CLIENT_OPTIONS = {
  config: { type: 'string' },
  control: { type: 'string' },
  'state-dir': { type: 'string' },
} as const;

export interface ClientFlags {
  readonly config?: string | undefined;
  readonly control?: string | undefined;
  readonly 'state-dir'?: string | undefined;
}

/**
 * Finds the server the way `serve` did (same config resolution, flags overriding it) and
 * returns a client holding the token from STATEDIR/control.token. Throws ConfigError for a bad
 * config or flag, ControlClientError('not-running') when there is no token to read.
 */
export async function connectToServer(flags: ClientFlags): Promise<ControlClient> {
  const { config } = await resolveConfig({
    ...(flags.config === undefined ? {} : { file: flags.config }),
    overrides: {
      ...(flags.control === undefined ? {} : { control: flags.control }),
      ...(flags['state-dir'] === undefined ? {} : { stateDir: flags['state-dir'] }),
    },
  });
  let token: string;
  try {
    token = await readControlToken(config.stateDir);
  } catch (error) {
    const path = controlTokenPath(config.stateDir);
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ControlClientError(
        'not-running',
        `no control token at ${path}: no server has run with state dir ${config.stateDir} (start one with "keymaster serve", or pass the --config or --state-dir it uses)`,
      );
    throw new ControlClientError('unauthorized', `cannot read the control token ${path}: ${(error as Error).message}`);
  }
  return new ControlClient(config.control, token);
}
