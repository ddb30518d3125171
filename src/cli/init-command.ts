import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SYSTEM_CONFIG_FILE } from '../config/defaults.js';
import { parseConfigText } from '../config/loader.js';
import { ensureControlToken } from '../control-contract/control-token.js';
import { prepareStateDir } from '../store/state-dir.js';
import { writeFileAtomic } from '../storage/atomic-file.js';
import { UsageError } from './usage.js';

export const INIT_USAGE = `usage: keymaster init [--config FILE] [--state-dir DIR] [--listen ADDR:PORT]... [--force]

Prepares a host: writes a commented config (every key at its default, with the state directory
and listen addresses given) and creates the state directory (0700) with the control token (0600).
  --config FILE       the config to write (default ${SYSTEM_CONFIG_FILE}, which serve and every
                      other verb read when it exists)
  --state-dir DIR     stateDir in the config (default /var/lib/keymaster)
  --listen ADDR:PORT  DNS over UDP and TCP (repeatable; default 127.0.0.1:53 and [::1]:53)
  --force             replace an existing config file (the state directory is never emptied)
`;

/** The shipped config/keymaster.yaml: every key with its comment. */
function shippedConfig(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return readFileSync(resolve(here, '../../config/keymaster.yaml'), 'utf8');
}

/**
 * The shipped config made fit for a host: absolute stateDir, the given listen addresses, and the
 * sample zone (a path inside the source tree) left as a commented example.
 */
export function hostConfig(stateDir: string, listen: readonly string[]): string {
  const lines = shippedConfig().split('\n');
  const out: string[] = [
    `# Written by "keymaster init" on ${new Date().toISOString()}. "keymaster serve" and every other`,
    '# verb read this file when no --config is given.',
    '',
  ];
  let inZones = false;
  for (const line of lines) {
    if (/^stateDir:/.test(line)) out.push(`stateDir: ${JSON.stringify(stateDir)}`);
    else if (/^listen:/.test(line)) out.push(`listen: [${listen.map((l) => JSON.stringify(l)).join(', ')}]`);
    else if (/^zones:/.test(line)) {
      inZones = true;
      out.push('zones: []');
    } else if (inZones && /^ {2,}\S/.test(line)) out.push(`#${line}`);
    else {
      if (inZones && !/^#/.test(line) && line.trim() !== '') inZones = false;
      out.push(line);
    }
  }
  return out.join('\n');
}

export async function runInitCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      'state-dir': { type: 'string' },
      listen: { type: 'string', multiple: true },
      force: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(INIT_USAGE);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]!}"`);
  const file = resolve(values.config ?? SYSTEM_CONFIG_FILE);
  const stateDir = resolve(values['state-dir'] ?? '/var/lib/keymaster');
  const listen = values.listen ?? ['127.0.0.1:53', '[::1]:53'];
  if (existsSync(file) && !values.force) {
    process.stderr.write(`keymaster init: ${file} exists; not replaced (--force replaces it; the state directory is kept either way)\n`);
    return 1;
  }
  const text = hostConfig(stateDir, listen);
  // What serve will read must load: a bad --listen stops here with the key named, nothing written.
  parseConfigText(text, `${file} (as it would be written)`, { baseDir: dirname(file) });
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await writeFileAtomic(file, text, 0o644);
  await prepareStateDir(stateDir);
  const token = await ensureControlToken(stateDir);
  process.stdout.write(
    `wrote ${file}\nstate directory ${stateDir} (0700), control token ${token.path} (0600${token.created ? ', new' : ', kept'})\n` +
      `next: review ${file}, then "systemctl enable --now keymaster" (see docs/installing.md)\n`,
  );
  return 0;
}
