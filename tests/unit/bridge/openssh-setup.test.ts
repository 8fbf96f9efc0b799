import { existsSync, lstatSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentSocketPath, MAX_AGENT_PATH, MAX_SOCKET_PATH } from '../../../electron/main/bridge/agent-socket';
import { defaultKeylessCommand, OpenSshSetupService } from '../../../electron/main/bridge/openssh-setup';
import { hostBlock, quoted } from '../../../electron/main/bridge/ssh-config-block';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { HostStore } from '../../../electron/main/store/hosts';

let dir: string;
let hosts: HostStore;
let service: OpenSshSetupService;
const sshDir = () => join(dir, '.ssh');
const command = { node: '/usr/bin/node', script: '/opt/keyless/bin/keyless.mjs' };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-setup-'));
  hosts = new HostStore(join(dir, 'data'));
  service = new OpenSshSetupService({ hosts, home: join(dir, 'data'), sshDir: sshDir(), command });
});
afterEach(async () => {
  hosts.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('Set up OpenSSH', () => {
  it('adds one Include line at the top, before Host *, leaves the rest byte for byte, and undo restores the file', async () => {
    await hosts.save({ kind: 'ec2', name: 'web-1', instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', osUser: 'ubuntu', port: 22 });
    await mkdir(sshDir(), { mode: 0o700 });
    const original = '# mine\nHost *\n    IdentitiesOnly yes\n\nHost build\n    HostName 10.0.0.9\n';
    await writeFile(join(sshDir(), 'config'), original, { mode: 0o644 });

    expect((await service.status()).installed).toBe(false);
    const done = await service.install();
    expect(done.installed).toBe(true);
    const config = readFileSync(join(sshDir(), 'config'), 'utf8');
    expect(config).toBe(`Include ${join(sshDir(), 'keyless.conf')}\n${original}`);
    expect(statSync(join(sshDir(), 'config')).mode & 0o777).toBe(0o644);
    const blocks = readFileSync(join(sshDir(), 'keyless.conf'), 'utf8');
    expect(blocks).toMatch(/^Host web-1\n {4}User ubuntu\n {4}ProxyCommand "\/usr\/bin\/node" "\/opt\/keyless\/bin\/keyless.mjs" proxy %r %h %p\n/m);
    expect(blocks).toContain('    IdentitiesOnly no\n');
    expect(blocks).not.toMatch(/StrictHostKeyChecking/i);
    // A whole list, not +/- a default: OpenSSH then runs KnownHostsCommand once per connection, not twice.
    expect(blocks).toMatch(/^ {4}HostKeyAlgorithms ssh-ed25519,[a-z0-9,-]+$/m);
    expect(statSync(join(sshDir(), 'keyless.conf')).mode & 0o777).toBe(0o600);

    // Again (a host was added): the blocks are rewritten, the Include stays one line.
    await hosts.save({ kind: 'ec2', name: 'db-1', instanceId: 'i-0123456789abcdef1', region: 'eu-west-1', port: 22 });
    await service.install();
    expect(readFileSync(join(sshDir(), 'config'), 'utf8').match(/^Include /gm)).toHaveLength(1);
    expect(readFileSync(join(sshDir(), 'keyless.conf'), 'utf8')).toMatch(/^Host db-1$/m);

    const undone = await service.undo();
    expect(undone.installed).toBe(false);
    expect(readFileSync(join(sshDir(), 'config'), 'utf8')).toBe(original);
    expect(existsSync(join(sshDir(), 'keyless.conf'))).toBe(false);
  });

  it('keeps the mode of a config reached through a symbolic link (a dotfiles link), writing the file it points to', async () => {
    await mkdir(sshDir(), { mode: 0o700 });
    const real = join(dir, 'dotfiles-ssh-config');
    await writeFile(real, 'Host build\n    HostName 10.0.0.9\n', { mode: 0o600 });
    await symlink(real, join(sshDir(), 'config'));
    await service.install();
    expect(lstatSync(join(sshDir(), 'config')).isSymbolicLink()).toBe(true);
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(readFileSync(real, 'utf8')).toMatch(/^Include .*keyless\.conf\nHost build\n/);
    await service.undo();
    expect(statSync(real).mode & 0o777).toBe(0o600);
    expect(readFileSync(real, 'utf8')).toBe('Host build\n    HostName 10.0.0.9\n');
  });

  it('changes nothing when the config cannot be read, and says so', async () => {
    await mkdir(sshDir(), { mode: 0o700 });
    // A file every read of which fails (EIO), even for root.
    await symlink('/proc/self/mem', join(sshDir(), 'config'));
    for (const step of [() => service.install(), () => service.undo()]) {
      const err = await step().then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(KeylessFailure);
      expect(err).toMatchObject({ code: 'FileRefused', detail: { reason: 'unreadable', errno: 'EIO', path: join(sshDir(), 'config') } });
    }
    expect(readlinkSync(join(sshDir(), 'config'))).toBe('/proc/self/mem');
    expect(existsSync(join(sshDir(), 'keyless.conf'))).toBe(false);
  });

  it('names in Host lines only saved hosts whose names the network does not already have, and only user names as User', () => {
    const block = hostBlock({
      command,
      agents: { pipes: false, base: '/run/k' },
      named: [{ name: 'web-1', user: 'ubuntu' }, { name: 'github.com' }, { name: '10.0.0.5' }, { name: 'LocalHost' }, { name: 'db-1', user: 'ec2-user\nMatch exec "id"' }],
    });
    expect(block.match(/^Host .*$/gm)).toEqual(['Host web-1', 'Host db-1', 'Host i-*']);
    expect(block).toMatch(/^Host web-1\n {4}User ubuntu\n/m);
    expect(block).toMatch(/^Host db-1\n {4}ProxyCommand /m);
    expect(block).not.toMatch(/Match|exec/);
  });

  it('writes a Windows path with forward slashes (OpenSSH reads a backslash before a space or quote as an escape)', () => {
    expect(quoted('C:\\Program Files\\nodejs\\node.exe')).toBe('"C:/Program Files/nodejs/node.exe"');
    // On Linux a backslash is a character of a name, which an ssh config cannot carry as it is.
    expect(() => quoted('/opt/a\\b/keyless.mjs')).toThrow(KeylessFailure);
  });

  it('makes ~/.ssh and a config holding only the Include when there was none', async () => {
    await service.install();
    expect(readFileSync(join(sshDir(), 'config'), 'utf8')).toBe(`Include ${join(sshDir(), 'keyless.conf')}\n`);
    expect(statSync(sshDir()).mode & 0o777).toBe(0o700);
  });

  it('copies ssh user@name for a saved host, with -p for another port', async () => {
    const a = await hosts.save({ kind: 'ec2', name: 'web-1', instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', osUser: 'ubuntu', port: 22 });
    const b = await hosts.save({ kind: 'ec2', name: 'odd name', instanceId: 'i-0123456789abcdef2', region: 'eu-west-1', port: 2222 });
    expect(await service.sshCommand(a.id)).toBe('ssh ubuntu@web-1');
    // A name that cannot stand in a Host line is reached by its instance id.
    expect(await service.sshCommand(b.id)).toBe('ssh -p 2222 i-0123456789abcdef2');
  });
});

describe('the agent socket path', () => {
  it('is <dir>/%r@%h:%p, and refuses names that are no host names and paths over 104 bytes', () => {
    expect(agentSocketPath('/run/k', 'ec2-user', 'i-0abc12345678', 22)).toBe('/run/k/ec2-user@i-0abc12345678:22');
    for (const [user, host] of [
      ['ec2-user', '../../etc/x'],
      ['ec2-user', 'a b'],
      ['ec2-user', 'a\nb'],
      ['$(id)', 'web'],
    ]) {
      expect(() => agentSocketPath('/run/k', user!, host!, 22)).toThrow(KeylessFailure);
    }
    expect(() => agentSocketPath('/run/k', 'ec2-user', 'h'.repeat(MAX_SOCKET_PATH), 22)).toThrow(/longer than 92 bytes; set KEYLESS_AGENT_DIR/);
    // The agent first listens at `<address>.<pid>`: that name (up to 11 bytes more) and its end byte fit a socket's 104.
    const host = (n: number) => 'h'.repeat(n - '/run/k/ec2-user@:22'.length);
    expect(agentSocketPath('/run/k', 'ec2-user', host(MAX_AGENT_PATH), 22)).toHaveLength(MAX_AGENT_PATH);
    expect(MAX_AGENT_PATH + '.4294967295'.length + 1).toBe(MAX_SOCKET_PATH);
    expect(() => agentSocketPath('/run/k', 'ec2-user', host(MAX_AGENT_PATH + 1), 22)).toThrow(KeylessFailure);
  });

  it('is named by the printed block with the same tokens', () => {
    const block = hostBlock({ command, agents: { pipes: false, base: '/run/k' }, named: [] });
    expect(block).toContain('IdentityAgent "/run/k/%r@%h:%p"');
    expect(() => hostBlock({ command: { ...command, script: '/tmp/$(id)/keyless.mjs' }, agents: { pipes: false, base: '/run/k' }, named: [] })).toThrow(KeylessFailure);
  });
});

describe('the keyless command the Host block names', () => {
  it('in a packaged app: the command shipped in <resources>/keyless, on the Node on PATH; else this checkout’s bin', async () => {
    const proc = process as { resourcesPath?: string };
    const before = proc.resourcesPath;
    try {
      proc.resourcesPath = join(dir, 'resources');
      expect(defaultKeylessCommand().script).toMatch(/bin[/\\]keyless\.mjs$/); // nothing shipped there
      await mkdir(join(dir, 'resources', 'keyless', 'bin'), { recursive: true });
      await writeFile(join(dir, 'resources', 'keyless', 'bin', 'keyless.mjs'), '');
      expect(defaultKeylessCommand()).toEqual({ node: 'node', script: join(dir, 'resources', 'keyless', 'bin', 'keyless.mjs') });
    } finally {
      proc.resourcesPath = before;
    }
  });
});
