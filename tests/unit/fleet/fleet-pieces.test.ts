import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField, looksDestructive, type HostEntry, type InventoryInstance } from '../../../electron/contract';
import { runToCsv, type ExportedHost } from '../../../electron/main/fleet/export';
import { reachOf, runsToDrop } from '../../../electron/main/fleet/fleet-service';
import { CappedOutput, OutputBudget } from '../../../electron/main/fleet/output';
import { runWrapper, scriptText, sudoRefusal } from '../../../electron/main/fleet/remote-run';
import { startable, type Queued } from '../../../electron/main/fleet/schedule';
import { resolveTargets } from '../../../electron/main/fleet/targets';

describe('fleet scheduling', () => {
  const q = (key: string, lane?: string): Queued => ({ key, lane });
  it.each([
    // [queue, running total, running per lane, concurrency, perLane, expected keys]
    ['an empty run starts up to the concurrency', [q('a'), q('b'), q('c')], 0, {}, 2, 20, ['a', 'b']],
    ['a full endpoint is passed over, not waited for', [q('a', 'e1'), q('b', 'e1'), q('c'), q('d', 'e2')], 1, { e1: 20 }, 10, 20, ['c', 'd']],
    ['an endpoint fills to its limit and no further', [q('a', 'e1'), q('b', 'e1'), q('c', 'e1')], 18, { e1: 18 }, 50, 20, ['a', 'b']],
    ['a full run starts nothing', [q('a')], 5, {}, 5, 20, []],
    ['direct hosts have no lane limit', [q('a'), q('b'), q('c')], 0, {}, 50, 1, ['a', 'b', 'c']],
  ] as const)('%s', (_name, queue, total, lanes, concurrency, perLane, expected) => {
    const picked = startable(queue, { total, perLane: new Map(Object.entries(lanes)) }, { concurrency, perLane });
    expect(picked.map((p) => p.key)).toEqual(expected);
  });
});

describe('the reach summary', () => {
  it('counts hosts per endpoint, direct, through jumps and unreachable', () => {
    const hosts = [
      ...Array.from({ length: 20 }, () => ({ via: 'eice' as const, endpointId: 'eice-a' })),
      ...Array.from({ length: 11 }, () => ({ via: 'eice' as const, endpointId: 'eice-b' })),
      { via: 'direct' as const },
      { via: 'ssh' as const },
      { via: 'jump' as const },
      { via: 'none' as const },
    ];
    expect(reachOf(hosts)).toEqual({
      total: 35,
      endpoints: [
        { endpointId: 'eice-a', hosts: 20 },
        { endpointId: 'eice-b', hosts: 11 },
      ],
      throughEndpoints: 31,
      direct: 2,
      jump: 1,
      unreachable: 1,
    });
  });
});

describe('output kept per host', () => {
  it('keeps the first bytes up to the cap, counts the rest and says where it was cut', () => {
    const o = new CappedOutput(10);
    o.push(Buffer.from('line one\n'));
    o.push(Buffer.from('line two\nlast'));
    expect(o.bytes.toString()).toBe('line one\nl');
    expect(o.total).toBe(22);
    expect(o.cutAt).toBe(10);
    expect(o.lastLine).toBe('last');
  });
  it("keeps no more than the run's budget over all its hosts; past it a host's output is counted, cut where the budget ran out, and says the run cut it", () => {
    const budget = new OutputBudget(100);
    const a = new CappedOutput(64, budget);
    const b = new CappedOutput(64, budget);
    const c = new CappedOutput(64, budget);
    a.push(Buffer.alloc(80, 'a')); // 64 kept: its own cap
    b.push(Buffer.alloc(30, 'b')); // 30 kept
    c.push(Buffer.from('c'.repeat(10) + '\nend\n')); // 6 left in the budget
    c.push(Buffer.from('more\n'));
    expect(budget.used).toBe(100);
    expect([a.bytes.length, b.bytes.length, c.bytes.length]).toEqual([64, 30, 6]);
    expect(a.cutAt).toBe(64);
    expect(a.cutByRun).toBe(false);
    expect(b.cutAt).toBeUndefined();
    expect(c.bytes.toString()).toBe('cccccc');
    expect(c.cutAt).toBe(6);
    expect(c.total).toBe(20);
    expect(c.cutByRun).toBe(true);
    // Counted and followed all the same.
    expect(c.lastLine).toBe('more');
    // Once cut, nothing after the cut is kept, whatever the budget has left.
    const later = new OutputBudget(10);
    const d = new CappedOutput(64, later);
    d.push(Buffer.alloc(12, 'd'));
    later.used = 0;
    d.push(Buffer.from('tail'));
    expect(d.bytes.toString()).toBe('dddddddddd');
  });
  it('forgets the oldest finished runs past 50 runs or past the output all of them may keep, never a running one or the newest', () => {
    const MiB = 1024 * 1024;
    const runs = (kept: number[], running: number[] = []) => kept.map((k, i) => ({ running: running.includes(i), keptBytes: k * MiB }));
    expect(runsToDrop(runs([10, 10, 10]))).toEqual(new Set());
    // 300 MiB kept: the oldest finished go until 256 or less is.
    expect(runsToDrop(runs([64, 64, 64, 64, 44]))).toEqual(new Set([0]));
    expect(runsToDrop(runs([64, 64, 64, 64, 44], [0]))).toEqual(new Set([1]));
    // The newest stays even alone over the limit.
    expect(runsToDrop(runs([200, 300]))).toEqual(new Set([0]));
    // 51 runs of nothing: the oldest goes.
    expect(runsToDrop(runs(Array.from({ length: 51 }, () => 0)))).toEqual(new Set([0]));
  });
  it('shows the last line without escape sequences or bidi overrides', () => {
    const o = new CappedOutput();
    o.push(Buffer.from('ok\n\x1b[31mred\u202e text\x1b[0m\n\n'));
    expect(o.lastLine).toBe('red text');
    expect(o.lines).toBe(3);
    expect(o.cutAt).toBeUndefined();
  });
});

describe('export', () => {
  it('neutralises cells a spreadsheet would read as a formula', () => {
    for (const v of ['=1+1', '+cmd', '-2', '@SUM(A1)', '\t=x']) expect(csvField(v)).toBe(`'${v}`);
    expect(csvField('\r=x')).toBe(`"'\r=x"`);
    expect(csvField('plain = text')).toBe('plain = text');
    // Where the list separator is `;`, a field holding one is quoted, so it stays one cell.
    expect(csvField("web;=cmd|' /C calc'!A0;")).toBe(`"web;=cmd|' /C calc'!A0;"`);
  });
  it('writes RFC 4180 CSV: quoted fields with commas, quotes and line breaks, one row per host', () => {
    const host: ExportedHost = {
      key: 'h:web1',
      name: 'web, "one"',
      via: 'eice',
      endpointId: 'eice-1',
      state: 'failed',
      exitCode: 2,
      durationMs: 120,
      lastLine: '',
      stdoutBytes: 0,
      stderrBytes: 0,
      outputLines: 2,
      stdout: '=HYPERLINK("x")\nsecond',
      stderr: '',
    };
    const csv = runToCsv([host]);
    const [head, row] = csv.split('\r\n');
    expect(head).toBe('host,instance,via,endpoint,state,exit_code,signal,duration_ms,error_code,error,stdout,stderr,stdout_cut_at,stderr_cut_at');
    expect(row).toBe(`"web, ""one""",,eice,eice-1,failed,2,,120,,,"'=HYPERLINK(""x"")\nsecond",,,`);
  });
});

describe('the command sent to each host', () => {
  it('makes CRLF and CR line endings LF, and ends with a newline', () => {
    expect(scriptText('a\r\nb\rc')).toBe('a\nb\nc\n');
  });
  /**
   * The wrapper as sshd hands it to the login shell (a local sh stands in for it): the script on
   * its input, which stays open as the channel's does, until `stopAfterMs` (a cancel ends it).
   */
  async function wrapped(command: string, opts: { dir?: string; stopAfterMs?: number } = {}): Promise<{ status: number | null; stdout: string }> {
    const script = scriptText(command);
    const child = spawn('sh', ['-c', runWrapper(false, Buffer.byteLength(script))], { env: { ...process.env, ...(opts.dir ? { TMPDIR: opts.dir } : {}) } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stdin.write(script);
    const stop = opts.stopAfterMs === undefined ? undefined : setTimeout(() => child.stdin.end(), opts.stopAfterMs);
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    clearTimeout(stop);
    child.stdin.destroy();
    return { status, stdout };
  }
  it('runs the script from a private temporary file with its input closed, and removes the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyless-wrapper-'));
    const r = await wrapped('read line || echo "stdin was empty"\necho second ran\nls -l "$0" | cut -c1-10\n', { dir });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('stdin was empty\nsecond ran\n-rw-------\n');
    expect(readdirSync(dir)).toEqual([]);
  });
  it('passes the exit code through', async () => {
    expect((await wrapped('exit 7\n')).status).toBe(7);
  });
  it('a stop (the end of its input) ends the command on the host, children and all, and removes the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keyless-wrapper-'));
    // Durations no other process uses, to find these two sleeps by.
    const own = `${6000 + (process.pid % 1000)}.${Date.now() % 100000}`;
    const r = await wrapped(`echo started\nsh -c 'sleep 1${own}; echo never' &\nsleep ${own}\necho never`, { dir, stopAfterMs: 800 });
    expect(r.stdout).toBe('started\n');
    expect(r.status).toBe(143);
    // Neither the command's sleep nor the one it started in the background goes on.
    await new Promise((done) => setTimeout(done, 300));
    expect(spawnSync('pgrep', ['-f', `sleep ${own}`]).status).toBe(1);
    expect(spawnSync('pgrep', ['-f', `sleep 1${own}`]).status).toBe(1);
    expect(readdirSync(dir)).toEqual([]);
  });
  it('recognises sudo -n refusing to ask for a password', () => {
    expect(sudoRefusal(1, 'sudo: a password is required\n')).toBe('sudo: a password is required');
    expect(sudoRefusal(1, 'ec2-user is not in the sudoers file.  This incident will be reported.\n')).toBeUndefined();
    expect(sudoRefusal(1, 'sudo: ec2-user is not in the sudoers file.  This incident will be reported.\n')).toMatch(/not in the sudoers/);
    expect(sudoRefusal(0, 'sudo: a password is required\n')).toBeUndefined();
    expect(execFileSync('sh', ['-c', 'echo ok'], { encoding: 'utf8' })).toBe('ok\n');
  });
});

describe('destructive commands ask first', () => {
  it.each(['rm -rf /var/tmp/x', 'sudo shutdown -h now', 'reboot', 'mkfs.ext4 /dev/xvdb', 'dd if=/dev/zero of=/dev/xvda', 'cd /; rm -f a', 'systemctl reboot'])('%s', (c) => expect(looksDestructive(c)).toBe(true));
  it.each(['uptime', 'df -h', 'systemctl status nginx', 'echo reboots-counted', 'grep shutdownhook log', 'rm file'])('not %s', (c) => expect(looksDestructive(c)).toBe(false));
});

describe('targets', () => {
  const ec2 = (id: string, instanceId: string, groupId: string | null): HostEntry =>
    ({ kind: 'ec2', id, name: id, instanceId, region: 'us-east-1', groupId, port: 22, tags: [] }) as unknown as HostEntry;
  const inst = (id: string, tags: Record<string, string>): InventoryInstance => ({
    profile: 'default', account: '1', region: 'us-east-1', id, name: tags.Name ?? '', state: 'running', type: 't3.micro', az: 'us-east-1a', vpcId: 'vpc-1', subnetId: 'subnet-1',
    privateIp: '10.0.0.1', publicIp: '', imageId: '', imageName: '', platform: 'Linux/UNIX', defaultUser: 'ec2-user', reach: 'endpoint', endpointId: null, launchedAt: null, tags,
  });
  const src = {
    hosts: [ec2('web1', 'i-00000000000000001', 'g1'), ec2('web2', 'i-00000000000000002', 'g2'), ec2('db1', 'i-00000000000000003', null)],
    groups: [
      { id: 'g1', name: 'prod', parentId: null, settings: {} },
      { id: 'g2', name: 'web', parentId: 'g1', settings: {} },
    ],
    smartGroups: [{ id: 's1', name: 'prod', query: 'env:prod' }],
    inventory: [inst('i-00000000000000001', { env: 'prod' }), inst('i-00000000000000009', { env: 'prod', Name: 'lone' }), inst('i-00000000000000003', { env: 'dev' })],
  } as unknown as Parameters<typeof resolveTargets>[1];
  it('a group brings its subgroups hosts', () => {
    expect(resolveTargets({ groupId: 'g1' }, src).map((t) => t.key)).toEqual(['h:web1', 'h:web2']);
  });
  it('a smart group brings the instances its query matches, through their saved host when there is one', () => {
    const t = resolveTargets({ smartGroupId: 's1' }, src);
    expect(t.map((x) => x.key)).toEqual(['h:web1', 'i:us-east-1:i-00000000000000009']);
    expect(t[1]!.ref).toEqual({ target: { profile: 'default', region: 'us-east-1', instanceId: 'i-00000000000000009' } });
  });
  it('a host named twice runs once; an unknown id is a typed error', () => {
    expect(resolveTargets({ hostIds: ['db1', 'db1'] }, src)).toHaveLength(1);
    expect(() => resolveTargets({ hostIds: ['nope'] }, src)).toThrow(expect.objectContaining({ code: 'NotFound' }));
    expect(() => resolveTargets({ query: 'tag:' }, src)).toThrow(expect.objectContaining({ code: 'InvalidArguments' }));
  });
});
