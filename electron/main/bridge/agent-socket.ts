import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, link, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { ParsedKey } from 'ssh2';
import { fail, KeylessFailure } from '../base/errors';
import { readRegularTextFile } from '../base/safe-read';
import { generateEphemeralKey } from '../connect/ephemeral-key';
import { loadSsh2 } from '../ssh/ssh2';

/** macOS's room for a Unix socket path, its end byte included (Linux has 108): the stricter one everywhere. */
export const MAX_SOCKET_PATH = 104;
/**
 * The longest agent address: the agent listens first at `<address>.<pid>` (a dot and at most ten
 * digits) and then links it into place, and that name and its end byte must fit in a socket's room.
 */
export const MAX_AGENT_PATH = MAX_SOCKET_PATH - 1 - 11;

/** Windows's limit for a named pipe's whole name (`\\.\pipe\…`). */
export const MAX_PIPE_NAME = 256;

/**
 * Where one person's agents are: Unix sockets in an owner-only folder, or, on Windows, named pipes.
 * Pipe names are one namespace for every user of the machine (and anyone may list them), so a
 * pipe's name carries a tag made from the person's own secret, and a proxy joining a live agent
 * has it prove that it knows the secret (`joinLiveAgent`).
 */
export interface AgentPlace {
  pipes: boolean;
  /** The sockets' folder, or the pipes' name prefix (`keyless-<tag>`). */
  base: string;
}

/** The place of the agents kept in `dir` (the folder holds the sockets, or on Windows only the secret), and the secret. */
export async function openAgentPlace(dir: string, platform: NodeJS.Platform = process.platform): Promise<{ place: AgentPlace; secret: Buffer }> {
  await ensureAgentDir(dir, platform);
  const secret = await agentSecret(dir);
  const place = platform === 'win32' ? { pipes: true, base: `keyless-${createHmac('sha256', secret).update('keyless agent pipe names').digest('hex').slice(0, 20)}` } : { pipes: false, base: dir };
  return { place, secret };
}

/** `user@host:port`, checked: names that are not plain user and host names are refused rather than turned into paths. */
export function agentName(user: string, host: string, port: number): string {
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]{0,31}$/.test(user)) fail('InvalidArguments', `"${user}" is not an OS user name.`, { field: 'user' });
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/.test(host)) fail('InvalidArguments', `"${host}" is not a host name, instance id or saved host name Keyless can serve.`, { field: 'host' });
  return `${user}@${host}:${port}`;
}

/**
 * The agent of one `user@host:port`: `<dir>/<user>@<host>:<port>` (or the pipe
 * `\\.\pipe\<prefix>.<user>@<host>:<port>`), the same one the generated Host block names as
 * `IdentityAgent` with OpenSSH's `%r@%h:%p` (OpenSSH expands the tokens to the very strings the
 * proxy gets as arguments).
 */
export function agentAddress(place: AgentPlace, user: string, host: string, port: number): string {
  const name = agentName(user, host, port);
  if (place.pipes) {
    const pipe = `\\\\.\\pipe\\${place.base}.${name}`;
    if (pipe.length > MAX_PIPE_NAME) fail('InvalidArguments', `The agent pipe name for ${name} is longer than Windows allows (${MAX_PIPE_NAME} characters).`, { field: 'host' });
    return pipe;
  }
  const path = join(place.base, name);
  if (Buffer.byteLength(path) > MAX_AGENT_PATH) {
    fail('InvalidArguments', `The agent socket path ${path} is longer than ${MAX_AGENT_PATH} bytes; set KEYLESS_AGENT_DIR to a shorter folder.`, { field: 'agentDir' });
  }
  return path;
}

/** The agent socket of `user@host:port` in the folder `dir`. */
export const agentSocketPath = (dir: string, user: string, host: string, port: number): string => agentAddress({ pipes: false, base: dir }, user, host, port);

const SECRET_FILE = 'owner-secret';

/**
 * The person's agent secret: 32 random bytes in an owner-only file of the agents' folder, made
 * the first time. It opens nothing on AWS or any host: it names the person's pipes on Windows and
 * lets a proxy tell an agent of the same person from one another process put in its way. Written
 * whole (and synced) under a name of its own, then linked into place, so two proxies starting at
 * once agree on one and a crash never leaves half a secret. A file that is not a secret is refused,
 * not replaced: on Windows the Host block already names pipes after it.
 */
export async function agentSecret(dir: string): Promise<Buffer> {
  const path = join(dir, SECRET_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    const text = await readRegularTextFile(path, 1024).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (text !== undefined) {
      const hex = text.trim();
      if (/^[0-9a-f]{64}$/.test(hex)) return Buffer.from(hex, 'hex');
      throw new KeylessFailure('InvalidArguments', `${path} is not a Keyless agent secret.`, false, { reason: 'agentSecret', path });
    }
    const draft = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
    try {
      const fh = await open(draft, 'wx', 0o600);
      try {
        await fh.writeFile(`${randomBytes(32).toString('hex')}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await link(draft, path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
    } finally {
      await unlink(draft).catch(() => {});
    }
  }
  fail('Internal', `The agent secret ${path} kept changing.`);
}

/**
 * The agents' folder, made owner-only; one that another user owns or others may write is refused
 * (on Windows the folder's place in the person's profile guards it: modes say nothing there).
 */
export async function ensureAgentDir(dir: string, platform: NodeJS.Platform = process.platform): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await lstat(dir);
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (platform !== 'win32' && (st.mode & 0o077) !== 0)) {
    fail('InvalidArguments', `The agent folder ${dir} must be a folder of yours that only you can open (chmod 700).`, { field: 'agentDir' });
  }
}

const AGENT_FAILURE = 5;
const AGENTC_REQUEST_IDENTITIES = 11;
const AGENT_IDENTITIES_ANSWER = 12;
const AGENTC_SIGN_REQUEST = 13;
const AGENT_SIGN_RESPONSE = 14;
const AGENTC_EXTENSION = 27;
const AGENT_EXTENSION_FAILURE = 28;
const AGENT_EXTENSION_RESPONSE = 29;
/** OpenSSH's own agent refuses messages over 256 KiB. */
const MAX_AGENT_MESSAGE = 256 * 1024;
/** The agent extension (draft-miller-ssh-agent §3.8) in which an agent proves it knows its person's secret. */
const OWNER_EXTENSION = 'owner@keyless.invalid';

/** The proof that an agent at `address` knows `secret`, for the challenge `nonce`: bound to the address, so it proves nothing elsewhere. */
function ownerProof(secret: Buffer, address: string, nonce: Buffer): Buffer {
  return createHmac('sha256', secret).update('keyless agent owner\0').update(address).update('\0').update(nonce).digest();
}

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
  /** A pipe (nothing to remove), or the socket file's inode: only that file is removed at close. */
  private pipe = false;
  private inode: number | undefined;

  private constructor(
    public path: string,
    private readonly server: Server,
    private readonly publicBlob: Buffer,
    /** The agent's own copy of the private key until ssh2 has parsed it; zeroed then (or at close). */
    private secret: Buffer | undefined,
    private readonly beforeIdentities: () => Promise<void>,
    /** The person's secret and the address other proxies know the agent by: what it proves itself with. */
    private readonly owner: { secret: Buffer; address: string } | undefined,
  ) {
    server.on('connection', (sock) => this.serve(sock));
  }

  /**
   * Listens at `path` (a socket, or a named pipe: `pipe`); rejects with EADDRINUSE when something
   * else got there first. ssh2 (to sign with the key) is loaded by `prepare()`, not here: the
   * proxy's tunnel opens first. With `owner`, it answers other proxies' challenges.
   */
  static async listen(
    path: string,
    key: AgentKey,
    beforeIdentities: () => Promise<void>,
    opts: { pipe?: boolean; owner?: { secret: Buffer; address: string } } = {},
  ): Promise<OneKeyAgent> {
    const server = createServer();
    const agent = new OneKeyAgent(path, server, Buffer.from(key.publicBlob), Buffer.from(key.privateKey), beforeIdentities, opts.owner);
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
    // A pipe has no mode: Windows gives it its creator's default access (full control to the
    // person, SYSTEM and administrators; read-only to everyone else, who cannot send a request).
    agent.pipe = opts.pipe === true;
    if (!agent.pipe) {
      await chmod(path, 0o600);
      agent.inode = (await lstat(path)).ino;
    }
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
    if (msg[0] === AGENTC_EXTENSION && this.owner) {
      const name = readString(msg, 1);
      const nonce = name && readString(msg, name.next);
      if (name?.value.toString('latin1') !== OWNER_EXTENSION) return failure;
      if (!nonce || nonce.value.length !== NONCE_BYTES) return Buffer.from([AGENT_EXTENSION_FAILURE]);
      return Buffer.concat([Buffer.from([AGENT_EXTENSION_RESPONSE]), sshString(ownerProof(this.owner.secret, this.owner.address, nonce.value))]);
    }
    return failure;
  }

  /** Resolves when no connection is open (at once when none is). */
  idle(): Promise<void> {
    if (this.conns.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Stops listening and removes the socket, if the file at its path is still its own. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.forget();
    for (const c of this.conns) c.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
    if (this.pipe) return;
    const st = await lstat(this.path).catch(() => undefined);
    if (st && st.ino === this.inode) await unlink(this.path).catch(() => {});
  }
}

const NONCE_BYTES = 32;
/** How long an agent may take to connect and prove itself (a live one does in well under a millisecond). */
const PROOF_MS = 5_000;
/**
 * How long a proven agent may take to list its key: it lists only once its push has landed, which
 * may take a while (slow credentials, many proxies starting at once).
 */
const LIST_MS = 120_000;

/** One request to an agent over `sock`, and its answer (the whole message body); undefined when none comes in time. */
function ask(sock: Socket, body: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    const done = (reply: Buffer | undefined) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      resolve(reply);
    };
    const onData = (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 4) return;
      const len = got.readUInt32BE(0);
      if (len === 0 || len > MAX_AGENT_MESSAGE) return done(undefined);
      if (got.length >= 4 + len) done(got.subarray(4, 4 + len));
    };
    const onClose = () => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.on('data', onData);
    sock.once('close', onClose);
    sock.write(frame(body));
  });
}

/** The first key of an identities answer (12), as an OpenSSH public key line. */
function firstKey(reply: Buffer | undefined): string | undefined {
  if (reply?.[0] !== AGENT_IDENTITIES_ANSWER || reply.length < 5 || reply.readUInt32BE(1) < 1) return undefined;
  const blob = readString(reply, 5);
  const type = blob && readString(blob.value, 0);
  if (!blob || !type || !/^[a-z0-9@.-]{1,64}$/.test(type.value.toString('latin1'))) return undefined;
  return `${type.value.toString('latin1')} ${blob.value.toString('base64')} keyless`;
}

/** An agent at an address that did not prove it is a Keyless of the person's. */
export function notOurs(address: string): KeylessFailure {
  return new KeylessFailure(
    'AgentUnavailable',
    `Something else answers at the agent address ${address} and did not prove it is a Keyless agent of yours; it was not used.`,
    false,
    { reason: 'notOurs', path: address },
  );
}

/**
 * A connection to whatever listens at `address`, or why there is none (ENOENT: nothing there;
 * ECONNREFUSED: a socket file nobody listens at; ETIMEDOUT: a pipe kept busy).
 */
function connectTo(address: string, timeoutMs: number): Promise<{ sock: Socket } | { code: string }> {
  return new Promise((resolve) => {
    const s = createConnection(address);
    const timer = setTimeout(() => {
      s.destroy();
      resolve({ code: 'ETIMEDOUT' });
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      resolve({ sock: s });
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: err.code ?? 'EIO' });
    });
  });
}

/** What a proxy found at an agent's address: a live agent of the person's (its key, and a connection holding it up), or why not. */
export type Found = { publicKey: string; hold: Socket } | { code: string };

/**
 * The key a live agent at `address` serves, with a connection held open so that agent stays up
 * while the caller lives; else why none (`code`: nothing there, a stale socket, or — `nokey` — an
 * agent whose push failed, on its way out). The agent must first prove it knows the person's
 * `secret` (an HMAC of a fresh challenge and the address): one that cannot — another process in
 * the agent's place — is refused (`AgentUnavailable`, reason `notOurs`), so no key but the
 * person's own proxy's is ever pushed.
 */
export async function joinLiveAgent(address: string, secret: Buffer, proofMs = PROOF_MS): Promise<Found> {
  const reached = await connectTo(address, proofMs);
  if (!('sock' in reached)) return reached;
  const hold = reached.sock;
  hold.on('error', () => {});
  try {
    const nonce = randomBytes(NONCE_BYTES);
    const reply = await ask(hold, Buffer.concat([Buffer.from([AGENTC_EXTENSION]), sshString(Buffer.from(OWNER_EXTENSION)), sshString(nonce)]), proofMs);
    const proof = reply?.[0] === AGENT_EXTENSION_RESPONSE ? readString(reply, 1)?.value : undefined;
    const want = ownerProof(secret, address, nonce);
    if (!proof || proof.length !== want.length || !timingSafeEqual(proof, want)) throw notOurs(address);
    const publicKey = firstKey(await ask(hold, Buffer.from([AGENTC_REQUEST_IDENTITIES]), LIST_MS));
    if (!publicKey) {
      hold.destroy();
      return { code: 'nokey' };
    }
    return { publicKey, hold };
  } catch (err) {
    hold.destroy();
    throw err;
  }
}

/**
 * Removes a socket file nothing listens at (a proxy that was killed left it), unless another proxy
 * replaced it meanwhile. Anything that accepts the connection is live, whatever it then says.
 */
export async function removeStaleSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) fail('InvalidArguments', `${path} is not a socket; remove it by hand.`, { field: 'agentDir' });
  const reached = await connectTo(path, PROOF_MS);
  if ('sock' in reached) return void reached.sock.destroy();
  if (reached.code !== 'ECONNREFUSED') return;
  const again = await lstat(path).catch(() => undefined);
  if (again?.ino === st.ino) await unlink(path).catch(() => {});
}

/** A proxy's agent: its own (it owns the address) or a live one another proxy for the same host owns. */
export type AgentRole = { kind: 'owner'; agent: OneKeyAgent; publicKey: string } | { kind: 'guest'; publicKey: string; hold: Socket };

/** Where a proxy's agent goes, and the person's secret that the agents there prove themselves with. */
export interface AgentSpot {
  address: string;
  /** A named pipe (Windows): listened at directly; a pipe vanishes with its owner, so none is ever stale. */
  pipe: boolean;
  secret: Buffer;
  /** How long an agent found there may take to connect and prove itself (tests shorten it). */
  proofMs?: number;
}

/**
 * Owns the agent's address or joins the live agent there, which must prove it is the person's
 * (`joinLiveAgent`). A socket's agent listens under a name of its own first and is then
 * hard-linked to the shared path, which fails when the path exists: two proxies starting at once
 * never take each other's socket; a socket nothing answers at is removed, and only while it is
 * still the same stale file. A pipe is listened at directly: Windows refuses a second listener.
 * `ownKey` gets the key as soon as no live agent was found, so its push may start at once (a proxy
 * that then loses the race pushes the winner's key too).
 */
export async function takeAgent(spot: AgentSpot, ownKey: (publicKey: string) => void, beforeIdentities: (publicKey: string) => () => Promise<void>): Promise<AgentRole> {
  const key = generateEphemeralKey();
  const owner = { secret: spot.secret, address: spot.address };
  let agent: OneKeyAgent | undefined;
  try {
    for (let attempt = 0; attempt < 20; attempt++) {
      const found = await joinLiveAgent(spot.address, spot.secret, spot.proofMs);
      if ('publicKey' in found) {
        await agent?.close();
        return { kind: 'guest', ...found };
      }
      if (attempt === 0) ownKey(key.publicKey);
      if (spot.pipe) {
        const listening = await OneKeyAgent.listen(spot.address, key, beforeIdentities(key.publicKey), { pipe: true, owner }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EADDRINUSE') return undefined;
          throw err;
        });
        if (listening) return { kind: 'owner', agent: listening, publicKey: key.publicKey };
        // Taken, by something this proxy could not reach (no access, kept busy): not the person's.
        if (found.code !== 'ENOENT' && found.code !== 'nokey') throw notOurs(spot.address);
      } else {
        agent ??= await OneKeyAgent.listen(`${spot.address}.${process.pid}`, key, beforeIdentities(key.publicKey), { owner });
        if (await agent.claim(spot.address)) return { kind: 'owner', agent, publicKey: key.publicKey };
        await removeStaleSocket(spot.address);
      }
      await new Promise((r) => setTimeout(r, 20 + attempt * 20));
    }
    throw new KeylessFailure('Internal', `The agent address ${spot.address} kept changing hands.`);
  } catch (err) {
    await agent?.close();
    throw err;
  } finally {
    // The agent keeps the parsed key; this copy goes.
    key.dispose();
  }
}

/** The owner stays until the last proxy holding its agent has gone, then removes the socket; a guest lets go. */
export async function releaseAgent(role: AgentRole, hangup: Promise<void>): Promise<void> {
  if (role.kind === 'guest') {
    role.hold.destroy();
    return;
  }
  // OpenSSH's own agent connection closes when it exits; wait for that and for other proxies' holds.
  await Promise.race([role.agent.idle(), hangup.then(() => role.agent.idle())]);
  await role.agent.close();
}
