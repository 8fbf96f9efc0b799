import { describe, expect, it } from 'vitest';
import { hostEntrySchema, hostGroupSchema, type HostEntry, type HostGroup } from '../../../electron/contract';
import { KeylessFailure } from '../../../electron/main/base/errors';
import { parseJumpSpec, planRoute, routeKey, type Route } from '../../../electron/main/connect/route';

const ssh = (id: string, over: Record<string, unknown> = {}): HostEntry =>
  hostEntrySchema.parse({ kind: 'ssh', id, name: id, host: `${id}.example.com`, user: 'admin', auth: { type: 'agent' }, ...over });
const ec2 = (id: string, over: Record<string, unknown> = {}): HostEntry =>
  hostEntrySchema.parse({ kind: 'ec2', id, name: id, instanceId: 'i-0123456789abcdef0', region: 'eu-west-1', ...over });
const group = (id: string, settings: Record<string, unknown>): HostGroup => hostGroupSchema.parse({ id, name: id, settings });

const tree = (hosts: HostEntry[], groups: HostGroup[] = []) => ({ hosts, groups });
/** Each hop as `kind:label@address`, outermost first. */
const hops = (r: Route) => r.hops.map((h) => (h.kind === 'ssh' ? `ssh:${h.user}@${h.host}:${h.port}` : `ec2:${h.target.instanceId}:${h.target.port}`));

function refusal(fn: () => unknown): { code: string; reason: unknown; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof KeylessFailure) return { code: err.code, reason: err.detail?.reason, message: err.message };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('parseJumpSpec (one element of OpenSSH ProxyJump)', () => {
  it.each([
    ['bastion', { host: 'bastion' }],
    ['ops@bastion.example.com', { user: 'ops', host: 'bastion.example.com' }],
    ['ops@10.0.0.1:2222', { user: 'ops', host: '10.0.0.1', port: 2222 }],
    ['[2001:db8::1]:22', { host: '2001:db8::1', port: 22 }],
  ])('%s', (spec, expected) => expect(parseJumpSpec(spec)).toEqual(expected));

  it.each(['', 'a b', 'ops@', '@host', 'host:0', 'host:70000', 'ssh://host', 'u@h@x', '-oProxyCommand=id', 'host:22:22'])('refuses %j', (spec) =>
    expect(parseJumpSpec(spec)).toBeUndefined(),
  );
});

describe('planRoute: the way to a host, checked before anything is dialled', () => {
  it('a host without jump hosts is one hop; the group gives the user', () => {
    const r = planRoute({ hostId: 'web' }, tree([ssh('web', { user: undefined, groupId: 'g' })], [group('g', { osUser: 'deploy' })]));
    expect(hops(r)).toEqual(['ssh:deploy@web.example.com:22']);
  });

  it('a chain a,b: a first, then b through a, then the host through b; saved jump hosts keep their own user and key', () => {
    const hosts = [ssh('a', { user: 'ua' }), ssh('b', { user: 'ub', port: 2200 }), ssh('web', { jumpHost: 'a,b' })];
    expect(hops(planRoute({ hostId: 'web' }, tree(hosts)))).toEqual(['ssh:ua@a.example.com:22', 'ssh:ub@b.example.com:2200', 'ssh:admin@web.example.com:22']);
  });

  it("a saved jump host's own jump hosts come first (any depth), and user@ / :port in the ProxyJump apply to it", () => {
    const hosts = [ssh('outer'), ssh('inner', { jumpHost: 'outer' }), ssh('web', { jumpHost: 'root@inner:2022' })];
    expect(hops(planRoute({ hostId: 'web' }, tree(hosts)))).toEqual(['ssh:admin@outer.example.com:22', 'ssh:root@inner.example.com:2022', 'ssh:admin@web.example.com:22']);
  });

  it('an address in the ProxyJump is dialled with the user and key of the host it leads to', () => {
    const r = planRoute({ hostId: 'web' }, tree([ssh('web', { jumpHost: '10.1.2.3:2222', auth: { type: 'keyFile', path: '/k' } })]));
    expect(hops(r)).toEqual(['ssh:admin@10.1.2.3:2222', 'ssh:admin@web.example.com:22']);
    expect(r.hops[0]).toMatchObject({ auth: { type: 'keyFile', path: '/k' } });
  });

  it('an EC2 instance may be a jump host (reached through its endpoint), and may sit behind a plain bastion', () => {
    const hosts = [ec2('eicejump', { connectionType: 'eice' }), ssh('internal', { jumpHost: 'eicejump' }), ssh('bastion'), ec2('private', { jumpHost: 'bastion', port: 2201 })];
    expect(hops(planRoute({ hostId: 'internal' }, tree(hosts)))).toEqual(['ec2:i-0123456789abcdef0:22', 'ssh:admin@internal.example.com:22']);
    expect(hops(planRoute({ hostId: 'private' }, tree(hosts)))).toEqual(['ssh:admin@bastion.example.com:22', 'ec2:i-0123456789abcdef0:2201']);
  });

  it('an inventory target is one EC2 hop with the defaults applied', () => {
    const r = planRoute({ target: { region: 'us-east-1', instanceId: 'i-0123456789abcdef0' } }, tree([]));
    expect(r.hops).toEqual([{ kind: 'ec2', label: 'i-0123456789abcdef0', target: { region: 'us-east-1', instanceId: 'i-0123456789abcdef0', connectionType: 'auto', port: 22 } }]);
  });

  it.each([
    ['a jump cycle', [ssh('a', { jumpHost: 'b' }), ssh('b', { jumpHost: 'a' })], 'a', 'jumpCycle', /a → b → a/],
    ['a host that jumps through itself', [ssh('a', { jumpHost: 'a' })], 'a', 'jumpCycle', /a → a/],
    ['an alias that is no saved host', [ssh('web', { jumpHost: 'bastion' })], 'web', 'jumpUnknown', /"bastion".*not a saved host/],
    ['a jump not in the form user@host:port', [ssh('web', { jumpHost: 'bastion:22:22' })], 'web', 'jumpSpec', /\[user@\]host\[:port\]/],
    ['a ProxyCommand Keyless cannot run', [ssh('web', { proxyCommand: 'nc -X 5 -x proxy:1080 %h %p' })], 'web', 'proxyCommand', /ProxyCommand.*nc -X 5/],
    ['a jump host and an endpoint together', [ssh('b'), ec2('p', { jumpHost: 'b', connectionType: 'eice' })], 'p', 'jumpWithEndpoint', /one or the other/],
  ])('refuses %s with RouteInvalid', (_what, hosts, id, reason, words) => {
    const r = refusal(() => planRoute({ hostId: id }, tree(hosts)));
    expect(r).toMatchObject({ code: 'RouteInvalid', reason });
    expect(r.message).toMatch(words);
  });

  it('refuses a chain deeper than eight jump hosts', () => {
    const hosts = Array.from({ length: 10 }, (_, i) => ssh(`h${i}`, i > 0 ? { jumpHost: `h${i - 1}` } : {}));
    expect(refusal(() => planRoute({ hostId: 'h9' }, tree(hosts)))).toMatchObject({ code: 'RouteInvalid', reason: 'jumpDepth' });
    expect(planRoute({ hostId: 'h8' }, tree(hosts)).hops).toHaveLength(9);
  });

  it('the pool key tells apart what must not share a connection: jump chain, profile, user, identity', () => {
    const base = [ssh('a'), ssh('b'), ec2('x')];
    const key = (hosts: HostEntry[], id = 'web') => routeKey(planRoute({ hostId: id }, tree(hosts)));
    const web = key([...base, ssh('web')]);
    expect(key([...base, ssh('web')])).toBe(web);
    expect(key([...base, ssh('web', { jumpHost: 'a' })])).not.toBe(web);
    expect(key([...base, ssh('web', { jumpHost: 'a' })])).not.toBe(key([...base, ssh('web', { jumpHost: 'b' })]));
    expect(key([...base, ssh('web', { user: 'other' })])).not.toBe(web);
    expect(key([...base, ssh('web', { auth: { type: 'keyFile', path: '/k' } })])).not.toBe(web);
    expect(key([ec2('x', { profile: 'alice' })], 'x')).not.toBe(key([ec2('x', { profile: 'bob' })], 'x'));
  });
});
