import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { planRoute } from '../../../electron/main/connect/route';
import { jumpFromProxyCommand, readSshConfig } from '../../../electron/main/store/ssh-config-import';
import { KeylessFailure } from '../../../electron/main/base/errors';

const home = mkdtempSync(join(tmpdir(), 'keyless-proxycmd-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('ProxyCommand in an imported ssh config', () => {
  it.each([
    ['ssh -W %h:%p bastion', 'bastion'],
    ['ssh -q -W %h:%p jump@bastion.example.com', 'jump@bastion.example.com'],
    ['/usr/bin/ssh -l ops -p 2201 -W [%h]:%p 10.0.0.1', 'ops@10.0.0.1:2201'],
  ])('%s is the jump host %s', (command, jump) => expect(jumpFromProxyCommand(command)).toBe(jump));

  it.each(['nc -X 5 -x proxy:1080 %h %p', 'ssh bastion nc %h %p', 'ssh -W %h:%p a b', 'ssh -o ProxyCommand=x -W %h:%p b', 'aws ssm start-session --target %h', 'ssh -W %h:%p %r@bastion'])(
    'is not a jump host: %s',
    (command) => expect(jumpFromProxyCommand(command)).toBeUndefined(),
  );

  it('an ssh -W command becomes a ProxyJump; any other command marks the host, which is then never dialled directly', async () => {
    const file = join(home, 'config');
    writeFileSync(
      file,
      ['Host bastion', '  HostName bastion.example.com', 'Host old-style', '  HostName 10.0.0.5', '  ProxyCommand ssh -q -W %h:%p bastion', 'Host socks', '  HostName 10.0.0.6', '  ProxyCommand nc -X 5 -x proxy:1080 %h %p', 'Host both', '  ProxyJump bastion', '  ProxyCommand nc %h %p', ''].join('\n'),
    );
    const { hosts } = await readSshConfig(file, { home, localUser: 'me' });
    const by = Object.fromEntries(hosts.map((h) => [h.name, h]));
    expect(by['old-style']).toMatchObject({ jumpHost: 'bastion' });
    expect(by['old-style']).not.toHaveProperty('proxyCommand');
    expect(by.socks).toMatchObject({ proxyCommand: 'nc -X 5 -x proxy:1080 %h %p' });
    expect(by.socks).not.toHaveProperty('jumpHost');
    // The first of the two wins, as in OpenSSH.
    expect(by.both).toMatchObject({ jumpHost: 'bastion' });
    const tree = { hosts, groups: [] };
    expect(planRoute({ hostId: by['old-style']!.id }, tree).hops.map((h) => h.label)).toEqual(['bastion', 'old-style']);
    let refused: unknown;
    try {
      planRoute({ hostId: by.socks!.id }, tree);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(KeylessFailure);
    expect((refused as KeylessFailure).detail).toMatchObject({ reason: 'proxyCommand', command: 'nc -X 5 -x proxy:1080 %h %p' });
  });
});
