/**
 * A host as docs/installing.md sets it up: `keymaster init` writes the config and the state
 * directory (0700, token 0600), refuses to overwrite, and `serve` runs from what it wrote; the
 * systemd unit passes systemd-analyze verify and its security review.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { haveTool, removeDir, runKeymasterCli, tempDir } from '../support/external-servers.js';
import { sleep } from '../support/live-rollover.js';

const HOST = '127.10.194.1';
const UNIT = resolve('packaging/systemd/keymaster.service');

describe('installing on a server', () => {
  const dir = tempDir('installing');
  const config = join(dir, 'etc', 'keymaster.yaml');
  const stateDir = join(dir, 'lib', 'keymaster');
  let child: ChildProcess | undefined;
  afterAll(async () => {
    child?.kill('SIGTERM');
    await sleep(300);
    removeDir(dir);
  });

  it('keymaster init writes the config, the state directory and the token, and will not overwrite', async () => {
    const r = await runKeymasterCli(['init', '--config', config, '--state-dir', stateDir, '--listen', `${HOST}:5300`]);
    expect(r.code, r.stderr).toBe(0);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(stateDir, 'control.token')).mode & 0o777).toBe(0o600);
    expect(statSync(config).mode & 0o777).toBe(0o644);
    const token = readFileSync(join(stateDir, 'control.token'), 'utf8');
    const again = await runKeymasterCli(['init', '--config', config, '--state-dir', stateDir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('exists; not replaced');
    const forced = await runKeymasterCli(['init', '--config', config, '--state-dir', stateDir, '--listen', `${HOST}:5300`, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(stateDir, 'control.token'), 'utf8')).toBe(token); // kept
    const bad = await runKeymasterCli(['init', '--config', join(dir, 'other.yaml'), '--listen', 'not-an-address']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/listen\[0\]/);
  });

  it('serve runs from the config init wrote', async () => {
    // A root nobody answers on: the test never reaches the real root servers.
    const hints = join(dir, 'dead.root');
    writeFileSync(hints, '. 3600000 NS a.root-servers.invalid.\na.root-servers.invalid. 3600000 A 127.10.255.254\n');
    child = spawn('node', [resolve('dist/cli/main.js'), 'serve', '--config', config, '--control', `${HOST}:5380`, '--root-anchors', 'none', '--root-hints', hints], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    const deadline = Date.now() + 30_000;
    while (!log.includes('"server.started"') && Date.now() < deadline && child.exitCode === null) await sleep(200);
    expect(log).toContain('"server.started"');
    const status = await runKeymasterCli(['status', '--json', '--config', config, '--control', `${HOST}:5380`]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout).stateDir).toBe(stateDir);
  }, 40_000);

  it.skipIf(!haveTool('systemd-analyze'))('the systemd unit verifies and is rated OK by systemd-analyze security', () => {
    execFileSync('systemd-analyze', ['verify', UNIT], { stdio: 'pipe' });
    const review = execFileSync('systemd-analyze', ['security', '--offline=yes', UNIT], { encoding: 'utf8' });
    const level = Number(/Overall exposure level for keymaster\.service: ([\d.]+)/.exec(review)?.[1]);
    expect(level).toBeLessThanOrEqual(2.5);
    const unit = readFileSync(UNIT, 'utf8');
    for (const line of ['User=keymaster', 'AmbientCapabilities=CAP_NET_BIND_SERVICE', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE', 'StateDirectory=keymaster', 'ConfigurationDirectory=keymaster', 'NoNewPrivileges=yes'])
      expect(unit).toContain(line);
  });
});
