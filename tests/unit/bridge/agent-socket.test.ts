import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { utils as sshUtils, OpenSSHAgent, type ParsedKey } from 'ssh2';
import {
  OneKeyAgent,
  agentAddress,
  agentSecret,
  MAX_PIPE_NAME,
  openAgentPlace,
  releaseAgent,
  takeAgent,
  type AgentRole,
  type AgentSpot,
} from '../../../electron/main/bridge/agent-socket';
import { hostBlock } from '../../../electron/main/bridge/ssh-config-block';
import { KeylessFailure } from '../../../electron/main/base/errors';

let dir: string;
const roles: AgentRole[] = [];
const servers: Server[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-agents-'));
});
afterEach(async () => {
  // Guests first: an owner waits for every connection to its agent to end.
  for (const r of roles.splice(0).reverse()) await releaseAgent(r, Promise.resolve());
  for (const s of servers.splice(0)) await new Promise((res) => s.close(() => res(undefined)));
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** A proxy taking the agent of one address: what it would push, and its role. */
async function proxy(spot: AgentSpot): Promise<{ role: AgentRole; pushed: string[] }> {
  const pushed: string[] = [];
  const role = await takeAgent(spot, (k) => pushed.push(k), () => async () => {});
  roles.push(role);
  return { role, pushed };
}

/** What OpenSSH would see at the address: the keys listed, and a signature made with the first. */
async function asOpenSsh(address: string): Promise<{ keys: ParsedKey[]; verified: boolean }> {
  const agent = new OpenSSHAgent(address);
  const keys = await new Promise<ParsedKey[]>((res, rej) => agent.getIdentities((err, list) => (err ? rej(err) : res(list as ParsedKey[]))));
  const data = Buffer.from('session data to sign');
  const sig = await new Promise<Buffer>((res, rej) => agent.sign(keys[0]!, data, (err, s) => (err ? rej(err) : res(s!))));
  const pub = sshUtils.parseKey(keys[0]!.getPublicSSH());
  return { keys, verified: !(pub instanceof Error) && (pub as ParsedKey).verify(data, sig) === true };
}

const kinds = [
  { name: 'Unix socket (claimed by a hard link)', pipe: false },
  { name: 'listened at directly, as a Windows named pipe is', pipe: true },
] as const;

describe.each(kinds)('the proxies’ shared agent: $name', ({ pipe }) => {
  it('a second proxy for the same host joins the first one’s agent, after it proved it is the person’s; OpenSSH lists that one key and gets signatures with it', async () => {
    const secret = await agentSecret(dir);
    const address = join(dir, 'ec2-user@i-0abc:22');
    const first = await proxy({ address, pipe, secret });
    expect(first.role.kind).toBe('owner');
    expect(first.pushed).toEqual([first.role.publicKey]);
    const second = await proxy({ address, pipe, secret });
    expect(second.role.kind).toBe('guest');
    expect(second.role.publicKey).toBe(first.role.publicKey);
    // The guest pushes the owner's key (the caller does, from role.publicKey), not its own: it was never offered one.
    expect(second.pushed).toEqual([]);
    const seen = await asOpenSsh(address);
    expect(seen.keys.map((k) => `${k.type} ${k.getPublicSSH().toString('base64')} keyless`)).toEqual([first.role.publicKey]);
    expect(seen.verified).toBe(true);
    if (!pipe) expect(statSync(address).mode & 0o777).toBe(0o600);
  });

  it('an agent in the address that cannot prove it knows the person’s secret is refused: no key of it is pushed, and the proxy says why', async () => {
    const address = join(dir, 'ec2-user@i-0abc:22');
    // Another program's agent, holding the address first: a proxy made with another secret.
    const squatter = await proxy({ address, pipe, secret: Buffer.alloc(32, 7) });
    expect(squatter.role.kind).toBe('owner');
    const secret = await agentSecret(dir);
    const pushed: string[] = [];
    const refused = await takeAgent({ address, pipe, secret }, (k) => pushed.push(k), () => async () => {}).then(
      (role) => (roles.push(role), undefined),
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(KeylessFailure);
    expect((refused as KeylessFailure).code).toBe('AgentUnavailable');
    expect((refused as KeylessFailure).detail).toMatchObject({ reason: 'notOurs', path: address });
    expect(pushed).toEqual([]);
  });

  it('a proof is good only for the address it was made for: an agent of the person’s that answers for another address is refused', async () => {
    const secret = await agentSecret(dir);
    const address = join(dir, 'ec2-user@i-0abc:22');
    // The person's own secret, but proving itself as the agent of another host (a relayed proof).
    const { generateEphemeralKey } = await import('../../../electron/main/connect/ephemeral-key');
    const key = generateEphemeralKey();
    const relay = await OneKeyAgent.listen(address, key, async () => {}, { pipe, owner: { secret, address: join(dir, 'ec2-user@i-0def:22') } });
    key.dispose();
    try {
      await expect(takeAgent({ address, pipe, secret }, () => {}, () => async () => {})).rejects.toMatchObject({ code: 'AgentUnavailable', detail: { reason: 'notOurs' } });
    } finally {
      await relay.close();
    }
  });

  it('an owner whose push is slow (it lists its key only once the push has landed) is waited for, not taken for stale: its socket stays', async () => {
    const secret = await agentSecret(dir);
    const address = join(dir, 'ec2-user@i-0abc:22');
    const slow = await takeAgent({ address, pipe, secret }, () => {}, () => () => new Promise((r) => setTimeout(r, 1_000)));
    roles.push(slow);
    const before = statSync(address).ino;
    // A proof limit well under the push's second: the wait for the key is not bound by it.
    const second = await proxy({ address, pipe, secret, proofMs: 300 });
    expect(second.role.kind).toBe('guest');
    expect(second.role.publicKey).toBe(slow.publicKey);
    expect(statSync(address).ino).toBe(before);
  });

  it('one that answers nothing is refused once its time is up, rather than waited on', async () => {
    const address = join(dir, 'ec2-user@i-0abc:22');
    // Reads what it is sent (so it sees the proxy hang up) and never answers.
    const silent = createServer((sock) => sock.on('error', () => {}).resume());
    servers.push(silent);
    await new Promise<void>((res) => silent.listen(address, res));
    const secret = await agentSecret(dir);
    const started = Date.now();
    await expect(takeAgent({ address, pipe, secret, proofMs: 300 }, () => {}, () => async () => {})).rejects.toMatchObject({ code: 'AgentUnavailable' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('once the owner has gone, the next proxy owns the address with a key of its own', async () => {
    const secret = await agentSecret(dir);
    const address = join(dir, 'ec2-user@i-0abc:22');
    const first = await proxy({ address, pipe, secret });
    await releaseAgent(roles.pop()!, Promise.resolve());
    const next = await proxy({ address, pipe, secret });
    expect(next.role.kind).toBe('owner');
    expect(next.role.publicKey).not.toBe(first.role.publicKey);
    expect((await asOpenSsh(address)).verified).toBe(true);
  });
});

describe('the agent socket a killed proxy left behind', () => {
  it('is replaced by the next proxy', async () => {
    const address = join(dir, 'ec2-user@i-0abc:22');
    // A socket file nothing listens at: Python binds and exits without removing it.
    const made = spawnSync('python3', ['-c', `import socket; socket.socket(socket.AF_UNIX).bind(${JSON.stringify(address)})`]);
    expect(made.status).toBe(0);
    expect(statSync(address).isSocket()).toBe(true);
    const secret = await agentSecret(dir);
    const next = await proxy({ address, pipe: false, secret });
    expect(next.role.kind).toBe('owner');
    expect((await asOpenSsh(address)).verified).toBe(true);
  });
});

describe('a real ssh-agent in the address', () => {
  const missing = spawnSync('ssh-agent', ['-h']).error ? 'ssh-agent is not installed (apt-get install openssh-client)' : '';
  it.skipIf(!!missing)('is not the person’s Keyless: refused, although it lists a key', async () => {
    const address = join(dir, 'ec2-user@i-0abc:22');
    const agent = spawn('ssh-agent', ['-D', '-a', address], { stdio: 'ignore' });
    children.push(agent);
    for (let k = 0; k < 100 && !existsSync(address); k++) await new Promise((r) => setTimeout(r, 20));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'k')]);
    execFileSync('ssh-add', ['-q', join(dir, 'k')], { env: { ...process.env, SSH_AUTH_SOCK: address }, stdio: 'ignore' });
    const secret = await agentSecret(dir);
    await expect(takeAgent({ address, pipe: false, secret }, () => {}, () => async () => {})).rejects.toMatchObject({ code: 'AgentUnavailable', detail: { reason: 'notOurs' } });
  });
});

describe('the person’s agent secret', () => {
  it('is made once, owner-only, and read back the same; two proxies starting at once agree on one', async () => {
    const [a, b] = await Promise.all([agentSecret(dir), agentSecret(dir)]);
    expect(a.length).toBe(32);
    expect(b.equals(a)).toBe(true);
    expect((await agentSecret(dir)).equals(a)).toBe(true);
    expect(statSync(join(dir, 'owner-secret')).mode & 0o777).toBe(0o600);
  });

  it('a file that is not a secret is refused with what to do, and left as it is; a FIFO in its place is refused at once, not waited on', async () => {
    await writeFile(join(dir, 'owner-secret'), 'abc', { mode: 0o600 });
    await expect(agentSecret(dir)).rejects.toMatchObject({ code: 'InvalidArguments', detail: { reason: 'agentSecret', path: join(dir, 'owner-secret') } });
    expect(await readFile(join(dir, 'owner-secret'), 'utf8')).toBe('abc');
    await rm(join(dir, 'owner-secret'));
    execFileSync('mkfifo', [join(dir, 'owner-secret')]);
    await expect(agentSecret(dir)).rejects.toMatchObject({ code: 'FileRefused', detail: { reason: 'fifo' } });
  });
});

describe('on Windows: named pipes whose names only the person can know', () => {
  it('a pipe per user@host:port, named with a tag of the person’s secret; the Host block names the same pipe with OpenSSH’s tokens', async () => {
    const { place } = await openAgentPlace(dir, 'win32');
    expect(place.pipes).toBe(true);
    expect(place.base).toMatch(/^keyless-[0-9a-f]{20}$/);
    expect((await openAgentPlace(dir, 'win32')).place).toEqual(place);
    // Another person (another secret) has other names.
    const other = await mkdtemp(join(tmpdir(), 'keyless-agents-'));
    expect((await openAgentPlace(other, 'win32')).place.base).not.toBe(place.base);
    await rm(other, { recursive: true, force: true });

    expect(agentAddress(place, 'ec2-user', 'i-0abc', 22)).toBe(`\\\\.\\pipe\\${place.base}.ec2-user@i-0abc:22`);
    // A host name Keyless takes (≤ 253 characters) whose pipe name would pass Windows's 256.
    const long = 'h'.repeat(MAX_PIPE_NAME - 40);
    expect(agentAddress({ pipes: false, base: '/r' }, 'u', long.slice(0, 80), 22)).toContain('u@');
    expect(() => agentAddress(place, 'ec2-user', long, 22)).toThrow(/longer than Windows allows/);
    expect(() => agentAddress(place, 'ec2-user', '..\\x', 22)).toThrow(KeylessFailure);
    // Paths as Windows gives them (backslashes), written with forward slashes.
    const block = hostBlock({ command: { node: 'C:\\Program Files\\nodejs\\node.exe', script: 'C:\\Users\\me\\keyless\\bin\\keyless.mjs' }, agents: place, named: [] });
    expect(block).toContain(`IdentityAgent "//./pipe/${place.base}.%r@%h:%p"`);
    expect(block).toContain('ProxyCommand "C:/Program Files/nodejs/node.exe" "C:/Users/me/keyless/bin/keyless.mjs" proxy %r %h %p');
  });

  it('elsewhere, sockets in the agents’ folder, as before', async () => {
    const { place } = await openAgentPlace(dir, 'linux');
    expect(place).toEqual({ pipes: false, base: dir });
    expect(agentAddress(place, 'ec2-user', 'i-0abc', 22)).toBe(join(dir, 'ec2-user@i-0abc:22'));
  });
});
