import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * `zones:` YAML that makes a Keymaster authoritative for a tiny root zone, for startKeymaster's
 * `extraYaml`: its readiness probe (". NS") is then answered at once, where a dead root makes
 * every start wait for the resolver's deadline. For tests that restart a server many times.
 */
export function localRootZoneYaml(dir: string, address: string): string {
  const file = join(dir, 'root.zone');
  writeFileSync(file, `. 3600 IN SOA a.root.test. hostmaster.test. 1 3600 600 86400 3600\n. 3600 IN NS a.root.test.\na.root.test. 3600 IN A ${address}\n`);
  return `zones:\n  - name: "."\n    file: ${JSON.stringify(file)}\n`;
}
