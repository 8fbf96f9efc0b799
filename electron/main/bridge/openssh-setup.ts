import { mkdir, stat, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import writeFileAtomic from 'write-file-atomic';
import type { Handlers } from '../rpc/contract-server';
import type { OpenSshSetup } from '../../contract';
import { fail, KeylessFailure } from '../base/errors';
import { READ_LIMITS, readRegularTextFile } from '../base/safe-read';
import { ec2TargetOfHost } from '../connect/route';
import type { HostStore } from '../store/hosts';
import { openAgentPlace } from './agent-socket';
import { bridgePaths } from './bridge-context';
import { hostBlock, hostPatternSafe, namedHosts, type KeylessCommand } from './ssh-config-block';

export interface OpenSshSetupOptions {
  hosts: HostStore;
  /** The app's data folder (the agents' folder is derived from it as the command derives it). */
  home: string;
  /** ~/.ssh (tests give another). */
  sshDir?: string;
  /** How OpenSSH starts the `keyless` command; default: this Node and the checkout's bin/keyless.mjs. */
  command?: KeylessCommand;
}

/**
 * The packaged app's `keyless` (electron-builder puts scripts/pack-keyless-cli.mjs's folder at
 * <resources>/keyless), else bin/keyless.mjs of the checkout or package this file runs from
 * (sources, out/main or out/bridge).
 */
export function defaultKeylessCommand(): KeylessCommand {
  const resources = (process as { resourcesPath?: string }).resourcesPath;
  const shipped = resources ? join(resources, 'keyless', 'bin', 'keyless.mjs') : undefined;
  if (shipped && existsSync(shipped)) return { node: 'node', script: shipped };
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5 && !existsSync(join(dir, 'bin', 'keyless.mjs')); i++) dir = dirname(dir);
  // Electron's own binary may not run as Node (its fuses forbid it): then the `node` on PATH.
  return { node: process.versions.electron ? 'node' : process.execPath, script: join(dir, 'bin', 'keyless.mjs') };
}

/**
 * "Set up OpenSSH": Keyless's Host blocks in a file of their own (~/.ssh/keyless.conf) and one
 * `Include` line at the very top of ~/.ssh/config, so its blocks come before any `Host *` (OpenSSH
 * takes the first value it meets). Nothing else in ~/.ssh/config moves; undo removes exactly that
 * line and the file.
 */
export class OpenSshSetupService {
  private readonly sshDir: string;
  private readonly command: KeylessCommand;

  constructor(private readonly opts: OpenSshSetupOptions) {
    this.sshDir = opts.sshDir ?? join(homedir(), '.ssh');
    this.command = opts.command ?? defaultKeylessCommand();
  }

  private get configFile() {
    return join(this.sshDir, 'config');
  }
  private get blocksFile() {
    return join(this.sshDir, 'keyless.conf');
  }
  private get includeLine() {
    if (/["\n]/.test(this.blocksFile)) fail('InvalidArguments', `${this.blocksFile} cannot be named in an Include line.`, { field: 'path' });
    return /\s/.test(this.blocksFile) ? `Include "${this.blocksFile}"` : `Include ${this.blocksFile}`;
  }

  /** The person's config, '' when there is none. Any other failure stops the change: a config that could not be read is never rewritten. */
  private async readConfig(): Promise<string> {
    try {
      return await readRegularTextFile(this.configFile, READ_LIMITS.sshConfig);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return '';
      if (err instanceof KeylessFailure) throw err;
      throw new KeylessFailure('FileRefused', `Keyless could not read ${this.configFile} (${code ?? 'error'}) and changed nothing in it.`, false, { path: this.configFile, reason: 'unreadable', errno: code ?? 'error' });
    }
  }

  /** The mode the config keeps: its own, through a symbolic link (a dotfiles link is 0777 itself). */
  private configMode(): Promise<number> {
    return stat(this.configFile).then((s) => s.mode & 0o777, () => 0o600);
  }

  async status(): Promise<OpenSshSetup> {
    const text = await this.readConfig();
    const installed = text.split('\n').some((l) => l.trim() === this.includeLine) && existsSync(this.blocksFile);
    return { installed, configFile: this.configFile, blocksFile: this.blocksFile };
  }

  /** The blocks for the saved EC2 hosts of today; the Include line only when it is not there yet. */
  async install(): Promise<OpenSshSetup> {
    const tree = await this.opts.hosts.tree();
    const { place } = await openAgentPlace(bridgePaths({ ...process.env, KEYLESS_HOME: this.opts.home }).agentDir);
    // The person's config is read before anything is written: one that cannot be read stops the setup.
    const text = await this.readConfig();
    await mkdir(this.sshDir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.blocksFile, hostBlock({ command: this.command, agents: place, named: namedHosts(tree) }), { mode: 0o600 });
    if (!text.split('\n').some((l) => l.trim() === this.includeLine)) {
      const mode = await this.configMode();
      await writeFileAtomic(this.configFile, `${this.includeLine}\n${text}`, { mode });
    }
    return this.status();
  }

  async undo(): Promise<OpenSshSetup> {
    const text = await this.readConfig();
    const lines = text.split('\n');
    const kept = lines.filter((l) => l.trim() !== this.includeLine);
    if (kept.length !== lines.length) {
      const mode = await this.configMode();
      await writeFileAtomic(this.configFile, kept.join('\n'), { mode });
    }
    await unlink(this.blocksFile).catch(() => {});
    return this.status();
  }

  /** The command to copy for a saved EC2 host: by its name when the blocks name it, else by instance id. */
  async sshCommand(hostId: string): Promise<string> {
    const host = await this.opts.hosts.entry(hostId);
    if (host.kind !== 'ec2') fail('InvalidArguments', `${host.name} is not an EC2 instance.`, { field: 'hostId' });
    const tree = await this.opts.hosts.tree();
    const user = ec2TargetOfHost(host, tree.groups).osUser;
    const name = hostPatternSafe(host.name) ? host.name : host.instanceId;
    return ['ssh', ...(host.port !== 22 ? ['-p', String(host.port)] : []), user ? `${user}@${name}` : name].join(' ');
  }
}

export function bridgeHandlers(service: OpenSshSetupService): Pick<Handlers, `bridge.${string}` & keyof Handlers> {
  return {
    'bridge.sshCommand': async ({ hostId }) => ({ command: await service.sshCommand(hostId) }),
    'bridge.setup.status': () => service.status(),
    'bridge.setup.install': () => service.install(),
    'bridge.setup.undo': () => service.undo(),
  };
}
