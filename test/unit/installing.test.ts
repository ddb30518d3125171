import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { hostConfig } from '../../src/cli/init-command.js';
import { parseConfigText, resolveConfig } from '../../src/config/loader.js';
import { journaldStream, stdoutIsJournal } from '../../src/logging/journald.js';

const dir = mkdtempSync(join(tmpdir(), 'keymaster-installing-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the config keymaster init writes', () => {
  it('is the shipped config with the host stateDir and listen addresses, no sample zone, and loads', () => {
    const text = hostConfig('/var/lib/keymaster', ['192.0.2.53:53', '[2001:db8::53]:53']);
    const config = parseConfigText(text, 'init.yaml');
    expect(config.stateDir).toBe('/var/lib/keymaster');
    expect(config.listen.map((l) => `${l.host}#${l.port}`)).toEqual(['192.0.2.53#53', '2001:db8::53#53']);
    expect(config.zones).toEqual([]);
    expect(text).toContain('#  - name: home.arpa.');
    expect(text).toContain('# DNS over TLS (RFC 7858)'); // the comments are kept
  });
});

describe('the default config path', () => {
  it('is the system file when it exists, else config/keymaster.yaml, else built-in defaults', async () => {
    const system = join(dir, 'system.yaml');
    const cwd = join(dir, 'cwd');
    const loaded = () => resolveConfig({ baseDir: cwd, systemFile: system });
    expect((await loaded()).file).toBeUndefined();
    writeFileSync(join(dir, 'placeholder'), '');
    await import('node:fs/promises').then((fs) => fs.mkdir(join(cwd, 'config'), { recursive: true }));
    writeFileSync(join(cwd, 'config', 'keymaster.yaml'), 'stateDir: ./from-cwd\n');
    expect((await loaded()).config.stateDir).toBe(join(cwd, 'from-cwd'));
    writeFileSync(system, 'stateDir: /var/lib/from-system\n');
    expect((await loaded()).file).toBe(system);
    expect((await loaded()).config.stateDir).toBe('/var/lib/from-system');
    expect(existsSync(system)).toBe(true);
  });
});

describe('logs for journald', () => {
  it('prefix each JSON line with its syslog priority', () => {
    const lines: string[] = [];
    const stream = journaldStream({ write: (l: string) => void lines.push(l) });
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace']) stream.write(`{"level":"${level}","msg":"x"}\n`);
    stream.write('not json\n');
    expect(lines.map((l) => l.slice(0, 3))).toEqual(['<2>', '<3>', '<4>', '<6>', '<7>', '<7>', '<6>']);
    expect(lines[2]).toBe('<4>{"level":"warn","msg":"x"}\n');
  });

  it('only when stdout is the stream systemd named', () => {
    expect(stdoutIsJournal({}, '1:2')).toBe(false);
    expect(stdoutIsJournal({ JOURNAL_STREAM: '1:2' }, '1:2')).toBe(true);
    expect(stdoutIsJournal({ JOURNAL_STREAM: '1:2' }, '1:3')).toBe(false); // redirected to a file
  });
});
