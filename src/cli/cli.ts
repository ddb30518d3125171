import { ConfigError, formatConfigIssue } from '../config/config-error.js';
import { KEYMASTER_VERSION } from '../version.js';
import { ControlClientError } from './control-client.js';
import { runCacheCommand } from './cache-command.js';
import { runClusterCommand } from './cluster-command.js';
import { runExplainCommand } from './explain-command.js';
import { runInitCommand } from './init-command.js';
import { runPolicyCommand } from './policy-command.js';
import { runQueryCommand } from './query-command.js';
import { runServeCommand } from './serve-command.js';
import { runStatusCommand } from './status-command.js';
import { runTrustAnchorCommand } from './trust-anchor-command.js';
import { runTrustPointCommand } from './trust-point-command.js';
import { runZoneCommand } from './zone-command.js';
import { MAIN_USAGE, UsageError } from './usage.js';

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Readonly<Record<string, Command>> = {
  serve: runServeCommand,
  init: runInitCommand,
  status: runStatusCommand,
  query: runQueryCommand,
  cache: runCacheCommand,
  'trust-point': runTrustPointCommand,
  'trust-anchor': runTrustAnchorCommand,
  zone: runZoneCommand,
  explain: runExplainCommand,
  policy: runPolicyCommand,
  cluster: runClusterCommand,
};

function isUsageError(error: unknown): error is Error {
  const code = (error as { code?: unknown } | null)?.code;
  return error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_'));
}

/** Prints why `verb` failed; returns the exit status (2: usage, 1: anything else). */
function reportFailure(verb: string, error: unknown): number {
  if (isUsageError(error)) {
    process.stderr.write(`keymaster ${verb}: ${error.message}\nRun "keymaster ${verb} --help" for usage.\n`);
    return 2;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`keymaster ${verb}: invalid configuration:\n${error.issues.map((i) => `  ${formatConfigIssue(i)}\n`).join('')}`);
    return 1;
  }
  const message = error instanceof ControlClientError || error instanceof Error ? error.message : String(error);
  process.stderr.write(`keymaster ${verb}: ${message}\n`);
  return 1;
}

/** Runs `keymaster ARGV...`; resolves with the exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    process.stderr.write(MAIN_USAGE);
    return 2;
  }
  if (verb === '--help' || verb === '-h' || (verb === 'help' && rest.length === 0)) {
    process.stdout.write(MAIN_USAGE);
    return 0;
  }
  if (verb === 'help') return runCli([rest[0]!, '--help']);
  if (verb === '--version' || verb === '-V') {
    process.stdout.write(`keymaster ${KEYMASTER_VERSION}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, verb) ? COMMANDS[verb] : undefined;
  if (!command) {
    process.stderr.write(`keymaster: unknown verb "${verb}"\n\n${MAIN_USAGE}`);
    return 2;
  }
  try {
    return await command(rest);
  } catch (error) {
    return reportFailure(verb, error);
  }
}
