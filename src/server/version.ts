import { readFileSync } from 'node:fs';

/** Keymaster's version, from package.json (two levels above both src/server and dist/server). */
export const KEYMASTER_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
