import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeymasterServer, type RunningServer, haveTool, removeDir, startKeymaster, startUnbound, tempDir, waitForDns } from '../support/external-servers.js';

/**
 * Online signing against BIND's tools on loopback 127.10.80.0/24: `nsupdate -y` (TSIG,
 * RFC 8945) adds a record that is answered signed at once and validated by Unbound with our
 * dsset- file as its trust anchor; `keymaster zone record add` does the same from the command
 * line; a bad TSIG or an address outside the zone's allow list changes nothing; and SIGKILL in
 * the middle of a burst of updates loses none that nsupdate saw acknowledged (restart, AXFR,
 * dnssec-verify and ldns-verify-zone).
 */

const SERVER = '127.10.80.1';
const CLIENT = '127.10.80.2';
const UNBOUND = '127.10.80.3';
const OUTSIDER = '127.10.80.4';
const SECRET = 'a2V5bWFzdGVyLWR5bmFtaWMtdXBkYXRlLXRzaWctc2VjcmV0';
const KEY = `hmac-sha256:ddns-key:${SECRET}`;
const ZONE = 'lab.example.';

const ZONE_TEXT = `$TTL 300
@       IN SOA ns hostmaster 2026010101 3600 900 604800 300
@       IN NS  ns
ns      IN A   ${SERVER}
www     IN A   192.0.2.80
mail    IN A   192.0.2.25
`;

const tools = ['nsupdate', 'dig', 'unbound', 'dnssec-verify', 'ldns-verify-zone'].every(haveTool);

interface NsupdateResult {
  readonly code: number | null;
  readonly output: string;
}

/** Runs nsupdate with `script` on stdin; never rejects. */
function nsupdate(script: string, key = KEY, source = CLIENT): Promise<NsupdateResult> {
  return new Promise((done) => {
    const child = spawn('nsupdate', ['-y', key, '-t', '4', '-u', '1', '-r', '1']);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('exit', (code) => done({ code, output }));
    child.stdin.end(`server ${SERVER} 53\nlocal ${source}\nzone ${ZONE}\n${script}\nsend\n`);
  });
}

function dig(args: string[], server = SERVER): string {
  return execFileSync('dig', [`@${server}`, '+tries=1', '+time=5', ...args], { encoding: 'utf8' });
}

const serial = () => Number(dig(['-b', CLIENT, ZONE, 'SOA', '+short']).trim().split(/\s+/)[2]);

function verifyAxfr(dir: string, name: string): string {
  const axfr = execFileSync('dig', ['-b', CLIENT, `@${SERVER}`, ZONE, 'AXFR', '+onesoa', '+noall', '+answer', '+time=10'], { encoding: 'latin1' });
  const file = join(dir, `${name}.axfr`);
  writeFileSync(file, axfr, 'latin1');
  const bind = spawnSync('dnssec-verify', ['-o', ZONE, file], { encoding: 'utf8' });
  expect(bind.stdout + bind.stderr).toMatch(/Zone fully signed/);
  expect(bind.status).toBe(0);
  const ldns = spawnSync('ldns-verify-zone', [file], { encoding: 'utf8' });
  expect(ldns.stdout + ldns.stderr).toMatch(/Zone is verified and complete/);
  expect(ldns.status).toBe(0);
  return axfr;
}

describe.skipIf(!tools)('dynamic UPDATE with TSIG and online signing (nsupdate, Unbound, dnssec-verify, ldns-verify-zone)', () => {
  let km: KeymasterServer;
  let unbound: RunningServer;
  let restarted: ChildProcess | undefined;
  const dir = tempDir('zone-update');

  beforeAll(async () => {
    const file = join(dir, 'lab.example.zone');
    writeFileSync(file, ZONE_TEXT);
    km = await startKeymaster({
      address: SERVER,
      control: `${SERVER}:5380`,
      rootHints: 'builtin',
      extraYaml:
        `zones:\n  - name: ${ZONE}\n    file: ${JSON.stringify(file)}\n    allowTransfer: ["127.10.80.0/24"]\n    signing: defaults\n` +
        `    update:\n      keys: [{ name: ddns-key., algorithm: hmac-sha256, secret: "${SECRET}" }]\n      allow: ["${CLIENT}/32"]\n`,
    });
    const dsset = readFileSync(join(km.stateDir, `dsset-${ZONE}`), 'utf8').split('\n').filter(Boolean);
    unbound = await startUnbound(UNBOUND, 53, { stubs: { [ZONE]: `${SERVER}@53` }, trustAnchors: dsset });
  }, 60_000);

  afterAll(async () => {
    await unbound?.stop();
    if (restarted && restarted.exitCode === null) {
      restarted.kill('SIGTERM');
      await new Promise((r) => restarted!.once('exit', r));
    }
    if (km?.alive()) await km.stop();
    removeDir(km?.dir ?? '');
    removeDir(dir);
  });

  it('nsupdate -y adds a record that is answered signed at once, and Unbound validates it (AD) with our dsset as trust anchor', async () => {
    const before = serial();
    const r = await nsupdate('update add new.lab.example. 300 A 192.0.2.100\nupdate add new.lab.example. 300 TXT "added by nsupdate"');
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
    expect(serial()).toBe(before + 1);
    const direct = dig(['new.lab.example.', 'A', '+dnssec', '+norec']);
    expect(direct).toMatch(/flags: qr aa( ra)?;/); // authoritative, never AD
    expect(direct).toMatch(/new\.lab\.example\.\s+300\s+IN\s+A\s+192\.0\.2\.100/);
    expect(direct).toMatch(/new\.lab\.example\.\s+300\s+IN\s+RRSIG\s+A 13 3 300/);
    const validated = dig(['new.lab.example.', 'A', '+dnssec'], UNBOUND);
    expect(validated).toMatch(/status: NOERROR/);
    expect(validated).toMatch(/flags: qr rd ra ad;/);
    expect(dig(['new.lab.example.', 'TXT', '+dnssec'], UNBOUND)).toMatch(/flags: qr rd ra ad;[\s\S]*"added by nsupdate"/);
    // Deleting a name: NXDOMAIN, and its denial validates too.
    expect((await nsupdate('update delete mail.lab.example. A')).code).toBe(0);
    expect(dig(['mail.lab.example.', 'A', '+dnssec'], UNBOUND)).toMatch(/status: NXDOMAIN[\s\S]*flags: qr rd ra ad;/);
    expect(km.log()).toMatch(/"event":"zone\.updated"/);
    verifyAxfr(dir, 'after-nsupdate');
  });

  it('keymaster zone record add|remove changes the zone, re-signed at once', async () => {
    const add = await km.cli(['zone', 'record', 'add', ZONE, 'cli', 'AAAA', '2001:db8::42', '--ttl', '120']);
    expect(add.stderr).toBe('');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^Added to lab\.example\. \(serial \d+, \d+ signatures made\):\n\+ cli\.lab\.example\.\t120\tIN\tAAAA\t2001:db8::42/);
    expect(dig(['cli.lab.example.', 'AAAA', '+dnssec'], UNBOUND)).toMatch(/flags: qr rd ra ad;[\s\S]*2001:db8::42/);
    const again = await km.cli(['zone', 'record', 'add', ZONE, 'cli', 'AAAA', '2001:db8::42', '--ttl', '120']);
    expect(again.stdout).toMatch(/^No change/);
    const remove = await km.cli(['zone', 'record', 'remove', ZONE, 'cli.lab.example.', 'AAAA']);
    expect(remove.code).toBe(0);
    expect(remove.stdout).toMatch(/^Removed from lab\.example\./);
    const missing = await km.cli(['zone', 'record', 'remove', ZONE, 'cli', 'AAAA']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not in lab\.example\./);
    const signer = await km.cli(['zone', 'record', 'add', ZONE, '@', 'NSEC3PARAM', '1 0 0 -']);
    expect(signer.code).not.toBe(0);
    expect(signer.stderr).toMatch(/Key Master/);
  });

  it('an UPDATE with a bad TSIG, an unknown key, no TSIG or from outside the allow list is refused and changes nothing', async () => {
    const before = serial();
    const badSecret = await nsupdate('update add evil.lab.example. 300 A 192.0.2.66', `hmac-sha256:ddns-key:${Buffer.from('not the right secret at all').toString('base64')}`);
    expect(badSecret.code).not.toBe(0);
    expect(badSecret.output).toMatch(/tsig|NOTAUTH|BADSIG/i);
    const badKey = await nsupdate('update add evil.lab.example. 300 A 192.0.2.66', `hmac-sha256:other-key:${SECRET}`);
    expect(badKey.code).not.toBe(0);
    const outsider = await nsupdate('update add evil.lab.example. 300 A 192.0.2.66', KEY, OUTSIDER);
    expect(outsider.code).not.toBe(0);
    expect(outsider.output).toMatch(/REFUSED/);
    expect(serial()).toBe(before);
    expect(dig(['evil.lab.example.', 'A'])).toMatch(/status: NXDOMAIN/);
    expect(km.log()).toMatch(/"event":"zone\.update-refused".*"rcode":"NOTAUTH".*BADSIG/);
  });

  it('SIGKILL during a burst of updates loses no acknowledged change: after a restart, the AXFR holds every one and verifies', async () => {
    const acknowledged: string[] = [];
    const total = 60;
    const killAfter = 20;
    let next = 0;
    let killed = false;
    const worker = async () => {
      while (next < total) {
        const i = next++;
        const name = `burst${i}.lab.example.`;
        const r = await nsupdate(`update add ${name} 300 A 192.0.2.${(i % 250) + 1}\nupdate add ${name} 300 TXT "burst ${i}"`);
        if (r.code === 0) acknowledged.push(name);
        if (!killed && acknowledged.length >= killAfter) {
          killed = true;
          km.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(killed).toBe(true);
    expect(acknowledged.length).toBeGreaterThanOrEqual(killAfter);
    expect(acknowledged.length).toBeLessThan(total); // the kill fell in the middle of the burst
    await new Promise((r) => km.child.exitCode !== null || km.child.signalCode !== null ? r(undefined) : km.child.once('exit', r));

    restarted = spawn('node', [resolve('dist/cli/main.js'), 'serve', '--config', km.configFile], { cwd: km.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    restarted.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    restarted.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitForDns(SERVER, 53, ZONE, restarted, 30_000);
    expect(log).toMatch(/"event":"zone\.journal-replayed"/);
    const axfr = verifyAxfr(dir, 'after-restart');
    for (const name of acknowledged) {
      expect(axfr, name).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')}\\s+300\\s+IN\\s+A\\s`, 'm'));
      expect(axfr, name).toMatch(new RegExp(`^${name.replace(/\./g, '\\.')}\\s+300\\s+IN\\s+TXT\\s`, 'm'));
    }
    // And it keeps taking updates after the restart.
    expect((await nsupdate('update add after.lab.example. 300 A 192.0.2.200')).code).toBe(0);
    expect(dig(['after.lab.example.', 'A', '+dnssec'], UNBOUND)).toMatch(/flags: qr rd ra ad;/);
  }, 180_000);
});
