import { readFileSync } from 'node:fs';

/** Keymaster's version, from package.json (one level above both src/ and dist/). */
export const KEYMASTER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
