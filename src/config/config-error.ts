/** One problem found in the configuration: where (file, line, key path) and why. */
export interface ConfigIssue {
  /** The config file, or undefined for a command-line flag. */
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
  /** Key path such as `recursion.allow[2]`, or a flag such as `--listen`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
}

export function formatConfigIssue(issue: ConfigIssue): string {
  const where = issue.file === undefined ? '' : issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return [where, issue.path, issue.message].filter((part) => part !== '').join(': ');
}

/** Thrown when a config file or flag is invalid; carries every issue found, not just the first. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly issues: readonly ConfigIssue[]) {
    super(issues.map(formatConfigIssue).join('\n'));
  }
}
