import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { hostRequests } from '../../contract';
import { toDisposable, type Disposable } from '../base/lifecycle';
import type { Logger } from '../base/log';
import type { Handlers, PeerContext } from '../rpc/contract-server';
import type { HostStore } from './hosts';
import { readSshConfig } from './ssh-config-import';

export type HostHandlers = Pick<Handlers, keyof typeof hostRequests>;

export interface HostHandlerOptions {
  /** The person's home folder, for ~/.ssh/config (HOME in tests). */
  home?: string;
  log: Logger;
}

/**
 * The hosts channels, and `hosts.changed` sent to every renderer that has listed the hosts
 * whenever the store changes: a save here, in another window, in another Keyless process, or an
 * edit by hand.
 */
export function createHostHandlers(store: HostStore, opts: HostHandlerOptions): { handlers: HostHandlers } & Disposable {
  const listeners = new Set<PeerContext>();
  const follow = (peer: PeerContext) => {
    if (listeners.has(peer) || peer.owned.isDisposed) return;
    listeners.add(peer);
    peer.owned.add(toDisposable(() => listeners.delete(peer)));
  };
  const watching = store.onDidChange(() => {
    for (const peer of listeners) peer.emit('hosts.changed', {});
  });
  const ok = { ok: true } as const;
  const home = () => opts.home ?? process.env.HOME ?? homedir();

  const handlers: HostHandlers = {
    'hosts.list': (_args, { peer }) => {
      follow(peer);
      return store.tree();
    },
    'hosts.save': ({ host, base }) => store.saveHost(host, base),
    'hosts.delete': async ({ id }) => (await store.deleteHost(id), ok),
    'hosts.move': async ({ hostIds, groupId }) => (await store.moveHosts(hostIds, groupId), ok),
    'hosts.markUsed': async ({ id }) => (await store.markUsed(id), ok),
    'groups.save': ({ group, base }) => store.saveGroup(group, base),
    'groups.delete': async ({ id }) => (await store.deleteGroup(id), ok),
    'smartGroups.save': ({ group }) => store.saveSmartGroup(group),
    'smartGroups.delete': async ({ id }) => (await store.deleteSmartGroup(id), ok),
    'hosts.importSshConfig': async ({ resolutions }) => {
      const file = join(home(), '.ssh', 'config');
      let localUser = 'root';
      try {
        localUser = userInfo().username;
      } catch {
        /* no passwd entry: keep a plausible default */
      }
      const imported = await readSshConfig(file, { home: home(), localUser }).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') return undefined;
        throw err;
      });
      if (!imported) return { file, added: 0, updated: 0, skipped: [{ pattern: file, reason: 'fileMissing' }], conflicts: [] };
      // Hosts imported before keep what only Keyless knows of them (group, tags, notes, favourite,
      // recording), so an unchanged config changes nothing and asks nothing.
      const { hosts: existing, groups } = await store.tree();
      const byId = new Map(existing.map((e) => [e.id, e]));
      const hosts = imported.hosts.map((h) => {
        const before = byId.get(h.id);
        if (!before) return h;
        const { groupId, tags, notes, favourite, recordSessions } = before;
        return { ...h, groupId, tags, notes, favourite, ...(recordSessions === undefined ? {} : { recordSessions }) };
      });
      const group = groups.find((g) => g.id === imported.group.id) ?? imported.group;
      const counts = await store.mergeEntries([group], hosts, [], resolutions);
      if (counts.conflicts.length) {
        opts.log.info('ssh config import waits for a choice', { conflicts: counts.conflicts.length });
        return { ...imported.report, added: 0, updated: 0, conflicts: counts.conflicts };
      }
      opts.log.info('ssh config imported', { added: counts.hostsAdded, updated: counts.hostsUpdated, skipped: imported.report.skipped.length });
      return { ...imported.report, added: counts.hostsAdded, updated: counts.hostsUpdated, conflicts: [] };
    },
    'hosts.export': async ({ groupIds, hostIds }) => ({ json: await store.exportJson({ groupIds, hostIds }) }),
    'hosts.import': ({ json, resolutions }) => store.importJson(json, resolutions),
    'hosts.restoreBackup': async () => {
      const result = await store.restoreBackup();
      opts.log.warn('hosts restored from backup', { from: result.restoredFrom, kept: result.keptAs });
      return result;
    },
  };
  return { handlers, dispose: () => (watching.dispose(), listeners.clear()) };
}
