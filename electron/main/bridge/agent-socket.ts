import { chmod, link, lstat, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ParsedKey } from 'ssh2';
import { fail } from '../base/errors';
import { loadSsh2 } from '../ssh/ssh2';

/** macOS's limit for a Unix socket path (Linux allows 108): the stricter one everywhere. */
export const MAX_SOCKET_PATH = 104;

/**
 * The agent socket of one `user@host:port`: `<dir>/<user>@<host>:<port>`, the same path the
 * generated Host block names as `IdentityAgent <dir>/%r@%h:%p` (OpenSSH expands the tokens to the
 * very strings the proxy gets as arguments). Names that are not plain host names are refused
 * rather than turned into paths.
 */
export function agentSocketPath(dir: string, user: string, host: string, port: number): string {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(user)) fail('InvalidArguments', `"${user}" is not an OS user name.`, { field: 'user' });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(host)) fail('InvalidArguments', `"${host}" is not a host name, instance id or saved host name Keyless can serve.`, { field: 'host' });
  const path = join(dir, `${user}@${host}:${port}`);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    fail('InvalidArguments', `The agent socket path ${path} is longer than ${MAX_SOCKET_PATH} bytes; set KEYLESS_AGENT_DIR to a shorter folder.`, { field: 'agentDir' });
  }
  return path;
}

/** The agents' folder, made owner-only; one that another user owns or others may write is refused. */
export async function ensureAgentDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o077) !== 0) {
    fail('InvalidArguments', `The agent folder ${dir} must be a folder of yours that only you can open (chmod 700).`, { field: 'agentDir' });
  }
}

const AGENT_FAILURE = 5;
const AGENTC_REQUEST_IDENTITIES = 11;
const AGENT_IDENTITIES_ANSWER = 12;
const AGENTC_SIGN_REQUEST = 13;
const AGENT_SIGN_RESPONSE = 14;
/** OpenSSH's own agent refuses messages over 256 KiB. */
const MAX_AGENT_MESSAGE = 256 * 1024;

function uint32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
const sshString = (b: Buffer) => Buffer.concat([uint32(b.length), b]);
const frame = (body: Buffer) => Buffer.concat([uint32(body.length), body]);
function readString(buf: Buffer, at: number): { value: Buffer; next: number } | undefined {
  if (at + 4 > buf.length) return undefined;
  const len = buf.readUInt32BE(at);
  if (at + 4 + len > buf.length) return undefined;
  return { value: buf.subarray(at + 4, at + 4 + len), next: at + 4 + len };
}

/** One key served over the SSH agent protocol; `beforeIdentities` runs (and is awaited) before each list. */
export interface AgentKey {
  readonly publicBlob: Buffer;
  readonly privateKey: Buffer;
}

/**
 * The SSH agent of one proxy: a Unix socket, owner-only, that lists one key and signs only with
 * it. Lives as long as something uses it: `idle()` resolves once no connection is open (other
 * proxies to the same host hold one for their whole life).
 */
export class OneKeyAgent {
  private readonly conns = new Set<Socket>();
  private readonly idleWaiters: Array<() => void> = [];
  private closed = false;
  private parsed: Promise<ParsedKey> | undefined;

  private constructor(
    public path: string,
    private readonly server: Server,
    private readonly publicBlob: Buffer,
    /** The agent's own copy of the private key until ssh2 has parsed it; zeroed then (or at close). */
    private secret: Buffer | undefined,
    private readonly beforeIdentities: () => Promise<void>,
  ) {
    server.on('connection', (sock) => this.serve(sock));
  }

  /**
   * Listens at `path`; rejects with EADDRINUSE when something else got there first. ssh2 (to sign
   * with the key) is loaded by `prepare()`, not here: the proxy's tunnel opens first.
   */
  static async listen(path: string, key: AgentKey, beforeIdentities: () => Promise<void>): Promise<OneKeyAgent> {
    const server = createServer();
    const agent = new OneKeyAgent(path, server, Buffer.from(key.publicBlob), Buffer.from(key.privateKey), beforeIdentities);
    // Owner-only from the moment it exists: no window in which another user could connect.
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      agent.forget();
      throw err;
    } finally {
      process.umask(old);
    }
    await chmod(path, 0o600);
    return agent;
  }

  /**
   * Loads ssh2 and parses the key for signing, once. The proxy calls it when its tunnel is open
   * (OpenSSH needs the agent a few round trips later, after the key exchange); the first sign
   * request waits for it otherwise.
   */
  prepare(): Promise<ParsedKey> {
    this.parsed ??= loadSsh2().then((ssh2) => {
      if (!this.secret) throw new Error('the agent is closed');
      const parsed = ssh2.utils.parseKey(this.secret);
      this.forget();
      if (parsed instanceof Error) throw parsed;
      return Array.isArray(parsed) ? parsed[0]! : parsed;
    });
    return this.parsed;
  }

  private forget(): void {
    this.secret?.fill(0);
    this.secret = undefined;
  }

  /**
   * Links the listening socket to `shared`; false when something is there already. From then on
   * the agent answers at `shared` and its own name is gone.
   */
  async claim(shared: string): Promise<boolean> {
    try {
      await link(this.path, shared);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
    await unlink(this.path).catch(() => {});
    this.path = shared;
    return true;
  }

  get connections(): number {
    return this.conns.size;
  }

  /**
   * The agent protocol's server side (draft-miller-ssh-agent), for the two requests OpenSSH makes
   * of an agent: list keys (11 → 12) and sign (13 → 14); anything else gets FAILURE (5). Not ssh2's
   * AgentProtocol: its server does not step over a request it does not know, so OpenSSH's
   * session-bind extension (27, sent before every list) garbles the list that follows. Requests on
   * one connection are answered in order.
   */
  private serve(sock: Socket): void {
    this.conns.add(sock);
    let buffered = Buffer.alloc(0);
    let queue = Promise.resolve();
    sock.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4) {
        const len = buffered.readUInt32BE(0);
        if (len === 0 || len > MAX_AGENT_MESSAGE) return void sock.destroy();
        if (buffered.length < 4 + len) break;
        const msg = buffered.subarray(4, 4 + len);
        buffered = buffered.subarray(4 + len);
        queue = queue.then(() => this.answer(msg)).then((reply) => {
          if (!sock.destroyed) sock.write(frame(reply));
        });
      }
    });
    sock.on('error', () => {});
    sock.on('close', () => {
      this.conns.delete(sock);
      if (this.conns.size === 0) for (const w of this.idleWaiters.splice(0)) w();
    });
  }

  private async answer(msg: Buffer): Promise<Buffer> {
    const failure = Buffer.from([AGENT_FAILURE]);
    const blob = this.publicBlob;
    if (msg[0] === AGENTC_REQUEST_IDENTITIES) {
      try {
        await this.beforeIdentities();
      } catch {
        return failure;
      }
      return Buffer.concat([Buffer.from([AGENT_IDENTITIES_ANSWER]), uint32(1), sshString(blob), sshString(Buffer.from('keyless'))]);
    }
    if (msg[0] === AGENTC_SIGN_REQUEST) {
      const keyBlob = readString(msg, 1);
      const data = keyBlob && readString(msg, keyBlob.next);
      // Only its own key: a request naming any other is refused.
      if (!keyBlob || !data || !keyBlob.value.equals(blob)) return failure;
      const parsed = await this.prepare().catch(() => undefined);
      const sig = parsed?.sign(data.value);
      if (!parsed || !sig || sig instanceof Error) return failure;
      return Buffer.concat([Buffer.from([AGENT_SIGN_RESPONSE]), sshString(Buffer.concat([sshString(Buffer.from(parsed.type)), sshString(sig)]))]);
    }
    return failure;
  }

  /** Resolves when no connection is open (at once when none is). */
  idle(): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops listening and removes the socket. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    await new Promise<void>((r) => this.server.close(() => r()));
    await unlink(this.path).catch(() => {});
    for (const c of this.conns) c.destroy();
  }
}

/**
 * The key a live agent at `path` serves, with a connection held open so that agent stays up while
 * the caller lives; undefined when nothing answers there (no socket, or a stale one).
 */
export async function joinLiveAgent(path: string): Promise<{ publicKey: string; hold: Socket } | undefined> {
  const hold = await new Promise<Socket | undefined>((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => resolve(s));
    s.once('error', () => resolve(undefined));
  });
  if (!hold) return undefined;
  hold.on('error', () => {});
  const { OpenSSHAgent } = await loadSsh2();
  const keys = await new Promise<ParsedKey[] | undefined>((resolve) => {
    new OpenSSHAgent(path).getIdentities((err, list) => resolve(err ? undefined : (list as ParsedKey[])));
  });
  const key = keys?.[0];
  if (!key) {
    hold.destroy();
    return undefined;
  }
  return { publicKey: `${key.type} ${key.getPublicSSH().toString('base64')} keyless`, hold };
}

/** Removes a socket nothing answers at (a proxy that was killed left it), unless another proxy replaced it meanwhile. */
export async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) fail('InvalidArguments', `${path} is not a socket; remove it by hand.`, { field: 'agentDir' });
  if (await joinLiveAgent(path).then((live) => (live?.hold.destroy(), live !== undefined))) return;
  const again = await lstat(path).catch(() => undefined);
  if (again?.ino === st.ino) await unlink(path).catch(() => {});
}
