import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSshConfig, SSH_CONFIG_GROUP_ID } from '../../../electron/main/store/ssh-config-import';
import { HostStore } from '../../../electron/main/store/hosts';

let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'keyless-sshcfg-'));
  cpSync(join(__dirname, 'fixtures', 'ssh'), join(home, '.ssh'), { recursive: true });
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const load = () => readSshConfig(join(home, '.ssh', 'config'), { home, localUser: 'me' });

describe('importing ~/.ssh/config', () => {
  it('turns each concrete Host alias into a saved host with what ssh itself would use', async () => {
    const { hosts } = await load();
    const by = Object.fromEntries(hosts.map((h) => [h.name, h]));
    expect(Object.keys(by).sort()).toEqual(['api.prod', 'bastion', 'db.internal', 'team-box', 'web two', 'web1']);
    expect(by.bastion).toMatchObject({ host: 'bastion.example.com', user: 'jump', port: 2201, auth: { type: 'keyFile', path: '~/.ssh/id_ed25519' } });
    // Quoted values, "=" separators and a quoted alias.
    expect(by.web1).toMatchObject({ host: '10.0.1.10', user: 'deploy', port: 22, jumpHost: 'bastion', auth: { type: 'keyFile', path: '~/.ssh/keys/web key' } });
    expect(by['web two']).toMatchObject({ host: '10.0.1.10', user: 'deploy' });
    // Lower-case keywords and a ProxyJump chain; no User falls back to the local user, as ssh does.
    expect(by['db.internal']).toMatchObject({ host: '10.0.2.20', user: 'me', jumpHost: 'jump@bastion.example.com:2201,other.example.com' });
    // From Includes (glob relative to ~/.ssh, and a quoted path with a space); wildcard blocks still apply.
    expect(by['team-box']).toMatchObject({ host: 'team.example.com', port: 2222, user: 'me' });
    expect(by['api.prod']).toMatchObject({ host: '10.9.9.9', user: 'ops' });
    expect(hosts.every((h) => h.groupId === SSH_CONFIG_GROUP_ID)).toBe(true);
  });

  it('reports what it skipped and why', async () => {
    const { report } = await load();
    const reasons = Object.fromEntries(report.skipped.map((s) => [s.pattern, s.reason]));
    expect(reasons['*.prod']).toBe('wildcard');
    expect(reasons['!canary.prod']).toBe('wildcard');
    expect(reasons['*']).toBe('wildcard');
    expect(reasons.bad).toBe('invalidValue');
    expect(reasons['Include missing-file']).toBe('includeMissing');
    expect(Object.keys(reasons).some((p) => p.startsWith('Match'))).toBe(true);
    expect(Object.keys(reasons)).not.toContain('should-not-appear');
  });

  it('saving an import twice adds the hosts once', async () => {
    const store = new HostStore(join(home, 'data'));
    const { group, hosts } = await load();
    expect(await store.mergeEntries([group], hosts)).toEqual({ added: 7, updated: 0, hostsAdded: 6, hostsUpdated: 0, conflicts: [] });
    expect(await store.mergeEntries([group], hosts)).toEqual({ added: 0, updated: 0, hostsAdded: 0, hostsUpdated: 0, conflicts: [] });
    expect((await store.tree()).hosts).toHaveLength(6);
    store.dispose();
  });
});
