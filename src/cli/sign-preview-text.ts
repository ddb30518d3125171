import type { SignPreview } from '../control-contract/zones.js';

/** The preview as lines for a terminal (the console draws the same fields). */
export function formatSignPreview(p: SignPreview): string {
  const lines = [`Zone ${p.zone} is signed; signing it again changes:`];
  if (p.changes.length === 0) lines.push('  no signing option (the zone is re-signed as it is)');
  const width = Math.max(0, ...p.changes.map((c) => c.field.length));
  for (const c of p.changes) lines.push(`  ${c.field.padEnd(width)}  ${c.from} → ${c.to}`);
  if (p.algorithmRollover) lines.push(`  An algorithm rollover starts: ${p.algorithmRollover.from.join(', ')} → ${p.algorithmRollover.to} (every key replaced, in stages).`);
  if (p.algorithmRolloverUnderway) lines.push(`  An algorithm rollover is under way (${p.algorithmRolloverUnderway.from} → ${p.algorithmRolloverUnderway.to}); the keys follow it first.`);
  if (p.keysRegenerated) lines.push('  New keys of the new sizes are generated and the old ones retired at once.');
  if (p.endsUnsign) lines.push('  The unsign under way is called off.');
  return lines.join('\n');
}
