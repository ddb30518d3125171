import { KEYMASTER_VERSION } from '../server/version.js';
import { PENDING_VERB_USAGE } from './usage.js';

/**
 * The contract's verbs that this version does not implement: say so plainly (exit 2) instead
 * of pretending. `--help` shows the planned usage and exits 0.
 */
export async function runPendingCommand(verb: string, argv: readonly string[]): Promise<number> {
  const help = argv.includes('--help') || argv.includes('-h');
  const text = `keymaster ${verb}: not available yet in this version (${KEYMASTER_VERSION}).\nPlanned usage:\n  ${PENDING_VERB_USAGE[verb] ?? `keymaster ${verb}`}\n`;
  (help ? process.stdout : process.stderr).write(text);
  return help ? 0 : 2;
}
