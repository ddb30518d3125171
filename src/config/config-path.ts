/** A key path into the config document: table keys and list indexes. */
export type ConfigPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_-][A-Za-z0-9_-]*$/;

/** `['recursion', 'allow', 2]` → `recursion.allow[2]`. */
export function formatConfigPath(path: ConfigPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (!IDENTIFIER.test(segment)) out += `[${JSON.stringify(segment)}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}
