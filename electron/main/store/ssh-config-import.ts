import { createHash } from 'node:crypto';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, sep } from 'node:path';
import SSHConfig, { glob, LineType, type Line, type Section } from 'ssh-config';
import { sshHostEntrySchema, type HostGroup, type SshHostEntry, type SshConfigImportReport } from '../../contract';
import { FileRefusal, READ_LIMITS, readRegularTextFile } from '../base/safe-read';

/** The group imported hosts land in (a re-import finds it by this id). */
export const SSH_CONFIG_GROUP_ID = 'ssh-config';
const MAX_INCLUDE_DEPTH = 16;

export interface SshConfigImport {
  report: SshConfigImportReport;
  group: HostGroup;
  hosts: SshHostEntry[];
}

type Value = Line extends infer L ? (L extends { value: infer V } ? V : never) : never;

function values(value: Value): string[] {
  return typeof value === 'string' ? [value] : value.map((v) => v.val);
}

const isSection = (line: Line): line is Section => line.type === LineType.DIRECTIVE && 'config' in line;
const isInclude = (line: Line) => line.type === LineType.DIRECTIVE && line.param.toLowerCase() === 'include';

/** Files an Include pattern names: ~ is the home folder, relative paths are under ~/.ssh, * and ? match. */
async function expandInclude(pattern: string, home: string, sshDir: string): Promise<string[]> {
  const path = pattern.startsWith('~/') ? join(home, pattern.slice(2)) : isAbsolute(pattern) ? pattern : join(sshDir, pattern);
  const parts = path.split(sep);
  let found = [parts[0] === '' ? sep : parts[0]!];
  for (const part of parts.slice(1)) {
    if (part === '') continue;
    if (!/[*?]/.test(part)) {
      found = found.map((dir) => join(dir, part));
      continue;
    }
    const next: string[] = [];
    for (const dir of found) {
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const name of names.sort()) {
        if (name.startsWith('.') && !part.startsWith('.')) continue;
        if (glob(part, name)) next.push(join(dir, name));
      }
    }
    found = next;
  }
  // Anything that exists is returned, so that a FIFO or a folder is reported as such when read.
  const files: string[] = [];
  for (const f of found) if (await stat(f).catch(() => undefined)) files.push(f);
  return files;
}

/**
 * Reads an OpenSSH client config with the `ssh-config` package and turns each concrete Host
 * alias into a saved plain SSH host. Includes are followed (relative to ~/.ssh, with globs);
 * wildcard and negated patterns describe other hosts rather than being one, so they are
 * reported and skipped, though their settings still apply to the hosts they match.
 */
export async function readSshConfig(file: string, env: { home: string; localUser: string }): Promise<SshConfigImport> {
  const sshDir = join(env.home, '.ssh');
  const skipped: SshConfigImportReport['skipped'] = [];
  const combined = SSHConfig.parse('');

  /** The lines of `path` with every Include replaced by the lines of the files it names. */
  const load = async (path: string, depth: number): Promise<Line[]> => {
    let text: string;
    try {
      text = await readRegularTextFile(path, READ_LIMITS.sshConfig);
    } catch (err) {
      if (depth === 0) throw err;
      skipped.push({
        pattern: `Include ${path}`,
        ...(err instanceof FileRefusal
          ? { reason: 'includeRefused' as const, detail: { path, what: err.reason, limit: String(err.detail?.limit ?? '') } }
          : { reason: 'includeUnreadable' as const, detail: { errno: (err as NodeJS.ErrnoException).code ?? 'error' } }),
      });
      return [];
    }
    const flatten = async (lines: Line[]): Promise<{ own: Line[]; sections: Line[] }> => {
      const own: Line[] = [];
      const sections: Line[] = [];
      for (const line of lines) {
        if (isInclude(line) && 'value' in line) {
          if (depth >= MAX_INCLUDE_DEPTH) {
            skipped.push({ pattern: `Include in ${path}`, reason: 'includeTooDeep', detail: { limit: MAX_INCLUDE_DEPTH } });
            continue;
          }
          for (const pattern of values(line.value)) {
            const files = await expandInclude(pattern, env.home, sshDir);
            if (files.length === 0 && !/[*?]/.test(pattern)) skipped.push({ pattern: `Include ${pattern}`, reason: 'includeMissing' });
            for (const f of files) {
              for (const l of await load(f, depth + 1)) (isSection(l) ? sections : sections.length ? sections : own).push(l);
            }
          }
        } else if (isSection(line)) {
          const inner = await flatten([...line.config]);
          line.config.splice(0, line.config.length, ...inner.own);
          sections.push(line, ...inner.sections);
        } else if (sections.length) {
          sections.push(line);
        } else {
          own.push(line);
        }
      }
      return { own, sections };
    };
    const parsed = SSHConfig.parse(text);
    const { own, sections } = await flatten([...parsed]);
    return [...own, ...sections];
  };

  combined.push(...(await load(file, 0)));

  const hosts: SshHostEntry[] = [];
  const seen = new Set<string>();
  for (const line of combined) {
    if (!isSection(line)) continue;
    if (line.param.toLowerCase() !== 'host') {
      skipped.push({ pattern: `${line.param} ${values(line.value).join(' ')}`, reason: 'matchBlock' });
      continue;
    }
    for (const alias of values(line.value)) {
      if (/[*?!]/.test(alias)) {
        skipped.push({ pattern: alias, reason: 'wildcard' });
        continue;
      }
      if (seen.has(alias)) continue;
      seen.add(alias);
      const c = combined.compute(alias, { ignoreCase: true, matchExec: false });
      const one = (k: string) => {
        const v = c[k];
        return Array.isArray(v) ? v[0] : v;
      };
      const hostName = (one('hostname') ?? alias).replace(/%h/g, alias);
      const identity = one('identityfile');
      const proxyJump = one('proxyjump');
      // OpenSSH takes whichever of ProxyJump and ProxyCommand comes first; `ssh -W %h:%p host` is a
      // jump host written the old way. Any other command is kept to say why the host is not dialled.
      const proxyCommand = proxyJump ? undefined : one('proxycommand');
      const viaCommand = proxyCommand && proxyCommand.toLowerCase() !== 'none' ? (jumpFromProxyCommand(proxyCommand) ?? { command: proxyCommand }) : undefined;
      const jumpHost = proxyJump && proxyJump.toLowerCase() !== 'none' ? proxyJump : typeof viaCommand === 'string' ? viaCommand : undefined;
      const candidate = {
        kind: 'ssh',
        id: importedId(alias),
        name: alias,
        groupId: SSH_CONFIG_GROUP_ID,
        host: hostName,
        port: one('port') === undefined ? 22 : Number(one('port')),
        user: one('user') ?? env.localUser,
        auth: identity ? { type: 'keyFile', path: identity.replace(/^%d\//, '~/') } : { type: 'agent' },
        ...(jumpHost ? { jumpHost } : {}),
        ...(typeof viaCommand === 'object' ? { proxyCommand: viaCommand.command } : {}),
        tags: ['ssh-config'],
      };
      const parsed = sshHostEntrySchema.safeParse(candidate);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        skipped.push({ pattern: alias, reason: 'invalidValue', detail: { field: issue?.path.map(String).join('.') || 'value' } });
        continue;
      }
      hosts.push(parsed.data);
    }
  }
  const group: HostGroup = { id: SSH_CONFIG_GROUP_ID, name: '~/.ssh/config', parentId: null, settings: {}, notes: '' };
  return { report: { file, added: 0, updated: 0, skipped, conflicts: [] }, group, hosts };
}

/**
 * The jump host of a ProxyCommand that only does what ProxyJump does — `ssh [-q] [-l user]
 * [-p port] -W %h:%p host`, as configs written before OpenSSH 7.3 say it — as ProxyJump would
 * write it; undefined for any other command (Keyless does not run commands from a config).
 */
export function jumpFromProxyCommand(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  if (!/^(?:\/usr(?:\/local)?\/bin\/)?ssh$/.test(words.shift() ?? '')) return undefined;
  let user: string | undefined;
  let port: string | undefined;
  let forwarded = false;
  const hosts: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-W' && /^(?:%h|\[%h\]):%p$/.test(words[i + 1] ?? '')) {
      forwarded = true;
      i++;
    } else if (w === '-l' && words[i + 1]) user = words[++i];
    else if (w === '-p' && /^\d{1,5}$/.test(words[i + 1] ?? '')) port = words[++i];
    else if (/^-[qTxa46]+$/.test(w)) continue;
    else if (!w.startsWith('-')) hosts.push(w);
    else return undefined;
  }
  if (!forwarded || hosts.length !== 1) return undefined;
  const spec = `${user ? `${user}@` : ''}${hosts[0]}${port ? `:${port}` : ''}`;
  return /^[A-Za-z0-9._:@[\]%-]+$/.test(spec) && !spec.includes('%') ? spec : undefined;
}

/** The same alias gets the same id on every import, so importing again updates rather than duplicates. */
export function importedId(alias: string): string {
  const clean = alias.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  const hash = createHash('sha256').update(alias).digest('hex').slice(0, 8);
  return `ssh-${clean}-${hash}`;
}
