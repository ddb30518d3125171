import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { formatConfigPath, type ConfigPath } from './config-path.js';
import { DEFAULT_CONFIG_FILE, SYSTEM_CONFIG_FILE } from './defaults.js';
import { applyOverrides, type ConfigOverrides } from './overrides.js';
import { configSchema, type KeymasterConfig } from './schema.js';
import { INVALID, type ParseContext } from './schema-kit.js';

export interface LoadOptions {
  /** Relative paths in the file (stateDir, zone files, ...) resolve against this; default: the working directory. */
  readonly baseDir?: string;
}

export interface LoadedConfig {
  readonly config: KeymasterConfig;
  /** Absolute path of the file read, or undefined when built-in defaults were used. */
  readonly file: string | undefined;
}

/** The offset of the node at `path`, or of its nearest ancestor present in the document. */
function locate(doc: Document, path: ConfigPath, target: 'key' | 'value'): number | undefined {
  let node: unknown = doc.contents;
  let offset = doc.contents?.range?.[0];
  for (const [depth, segment] of path.entries()) {
    if (isAlias(node)) node = node.resolve(doc);
    let keyNode: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(segment));
      if (!pair) break;
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      node = node.items[segment];
    } else break;
    const last = depth === path.length - 1;
    const chosen = (last && target === 'key' ? keyNode : node) ?? keyNode;
    const start = (chosen as { range?: [number, number, number] } | null | undefined)?.range?.[0];
    if (start !== undefined) offset = start;
  }
  return offset;
}

/** Parses and validates config text; `file` is used in messages. Throws ConfigError listing every problem. */
export function parseConfigText(source: string, file: string, options: LoadOptions = {}): KeymasterConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const position = (offset: number | undefined) => {
    if (offset === undefined) return { file };
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const issues: ConfigIssue[] = [...doc.errors, ...doc.warnings].map((e) => ({
    ...position(e.pos[0]),
    path: '',
    message: `YAML: ${e.message}`,
  }));
  if (issues.length > 0) throw new ConfigError(issues);
  let raw: unknown;
  try {
    raw = doc.toJS() ?? {}; // an empty file means all defaults
  } catch (error) {
    throw new ConfigError([{ file, path: '', message: `YAML: ${(error as Error).message}` }]);
  }
  const ctx: ParseContext = {
    baseDir: options.baseDir ?? process.cwd(),
    report: (path, message, target = 'value') =>
      issues.push({ ...position(locate(doc, path, target)), path: formatConfigPath(path), message }),
  };
  const config = configSchema.parse(raw, [], ctx);
  if (config === INVALID || issues.length > 0) throw new ConfigError(issues);
  return config;
}

/** Reads and validates one config file. Throws ConfigError (including when it cannot be read). */
export async function loadConfigFile(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const absolute = resolve(options.baseDir ?? process.cwd(), file);
  let source: string;
  try {
    source = await readFile(absolute, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new ConfigError([{ file, path: '', message: `cannot read the config file: ${reason}` }]);
  }
  return { config: parseConfigText(source, file, options), file: absolute };
}

/** The configuration with every key at its default. */
export function defaultConfig(options: LoadOptions = {}): KeymasterConfig {
  const issues: string[] = [];
  const config = configSchema.parse({}, [], {
    baseDir: options.baseDir ?? process.cwd(),
    report: (path, message) => issues.push(`${formatConfigPath(path)}: ${message}`),
  });
  if (config === INVALID) throw new Error(`built-in defaults are invalid: ${issues.join('; ')}`);
  return config;
}

export interface ResolveConfigOptions extends LoadOptions {
  /** `--config FILE`; when absent, SYSTEM_CONFIG_FILE if it exists, else DEFAULT_CONFIG_FILE if it exists, else built-in defaults. */
  readonly file?: string;
  /** Default SYSTEM_CONFIG_FILE (tests point it elsewhere). */
  readonly systemFile?: string;
  readonly overrides?: ConfigOverrides;
}

/** What `serve` and the client verbs do: pick the file, load it, apply command-line overrides. */
export async function resolveConfig(options: ResolveConfigOptions = {}): Promise<LoadedConfig> {
  const baseDir = options.baseDir ?? process.cwd();
  const systemFile = options.systemFile ?? SYSTEM_CONFIG_FILE;
  const file = options.file ?? (existsSync(systemFile) ? systemFile : existsSync(resolve(baseDir, DEFAULT_CONFIG_FILE)) ? DEFAULT_CONFIG_FILE : undefined);
  const loaded = file === undefined ? { config: defaultConfig({ baseDir }), file: undefined } : await loadConfigFile(file, { baseDir });
  if (!options.overrides) return loaded;
  return { config: applyOverrides(loaded.config, options.overrides, { baseDir }), file: loaded.file };
}
