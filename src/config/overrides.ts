import { ConfigError, type ConfigIssue } from './config-error.js';
import type { KeymasterConfig } from './schema.js';
import { controlSchema, listenSchema, rootAnchorsSchema, rootHintsSchema, stateDirSchema } from './schema.js';
import { INVALID, type ParseContext, type Schema } from './schema-kit.js';

/** Values from `keymaster serve` flags; each replaces the file's value. */
export interface ConfigOverrides {
  /** `--listen` (repeatable): replaces the whole `listen` list. */
  readonly listen?: readonly string[];
  /** `--state-dir` */
  readonly stateDir?: string;
  /** `--root-hints` */
  readonly rootHints?: string;
  /** `--root-anchors` */
  readonly rootAnchors?: string;
  /** `--control` */
  readonly control?: string;
}

/**
 * Returns `config` with the flags applied, validated by the same rules as the file; errors
 * name the flag (`--listen: "1.2.3.4" has no port ...`). Relative paths resolve against baseDir.
 */
export function applyOverrides(config: KeymasterConfig, overrides: ConfigOverrides, options: { baseDir?: string } = {}): KeymasterConfig {
  const issues: ConfigIssue[] = [];
  const parse = <T>(flag: string, schema: Schema<T>, value: unknown): T | undefined => {
    const ctx: ParseContext = {
      baseDir: options.baseDir ?? process.cwd(),
      report: (_path, message) => issues.push({ path: flag, message }),
    };
    const result = schema.parse(value, [], ctx);
    return result === INVALID ? undefined : result;
  };
  const listen = overrides.listen && parse('--listen', listenSchema, [...overrides.listen]);
  const stateDir = overrides.stateDir !== undefined ? parse('--state-dir', stateDirSchema, overrides.stateDir) : undefined;
  const control = overrides.control !== undefined ? parse('--control', controlSchema, overrides.control) : undefined;
  const rootHints = overrides.rootHints !== undefined ? parse('--root-hints', rootHintsSchema, overrides.rootHints) : undefined;
  const rootAnchors = overrides.rootAnchors !== undefined ? parse('--root-anchors', rootAnchorsSchema, overrides.rootAnchors) : undefined;
  if (issues.length > 0) throw new ConfigError(issues);
  return {
    ...config,
    listen: listen ?? config.listen,
    stateDir: stateDir ?? config.stateDir,
    control: control ?? config.control,
    resolver: { ...config.resolver, rootHints: rootHints ?? config.resolver.rootHints },
    trustAnchors: { ...config.trustAnchors, rootAnchors: rootAnchors ?? config.trustAnchors.rootAnchors },
  };
}
