// The audit's exact filters and the review of a period (counts per person and host, refused
// attempts, root use), over hand-made CloudTrail records.
import { describe, expect, it } from 'vitest';
import type { TrailEventRecord } from '../../../electron/contract';
import { hostOf, reviewOf, trailMatches } from '../../../electron/contract/audit-review';

const ALICE = 'arn:aws:iam::123456789012:user/alice';
const BOB = 'arn:aws:sts::123456789012:assumed-role/KeylessOperator/bob';
let n = 0;
const ev = (over: Partial<TrailEventRecord>): TrailEventRecord => ({
  eventId: `e${++n}`,
  time: 1_000_000 + n,
  eventName: 'SendSSHPublicKey',
  region: 'us-east-1',
  user: ALICE,
  sourceIp: '198.51.100.7',
  instanceId: 'i-0a1b2c3d4e5f00001',
  endpointId: null,
  targetIp: null,
  osUser: 'ec2-user',
  errorCode: null,
  errorMessage: null,
  alarms: [],
  ...over,
});

const events = [
  ev({}),
  ev({ osUser: 'root' }),
  ev({ user: BOB, instanceId: 'i-0a1b2c3d4e5f00002', osUser: 'ubuntu', errorCode: 'AccessDeniedException' }),
  ev({ user: BOB, instanceId: 'i-0a1b2c3d4e5f00002', osUser: 'root', errorCode: 'AccessDeniedException' }),
  // Tunnels: CloudTrail names the endpoint and the private address, not the instance.
  ev({ user: BOB, eventName: 'OpenTunnel', instanceId: null, endpointId: 'eice-0a1b2c3d4e5f00001', targetIp: '10.0.2.20', osUser: null }),
  ev({ user: BOB, eventName: 'OpenTunnel', instanceId: null, endpointId: 'eice-0a1b2c3d4e5f00009', targetIp: '10.0.2.20', osUser: null, region: 'eu-west-1' }),
];

describe('the audit’s filters are exact', () => {
  const ids = (f: Parameters<typeof trailMatches>[1]) => events.filter((e) => trailMatches(e, f)).map((e) => e.eventId);
  it('by host: its pushes, and the tunnels to its private address in its own region only', () => {
    expect(ids({ instanceId: 'i-0a1b2c3d4e5f00002', privateIp: '10.0.2.20', region: 'us-east-1' })).toEqual([events[2]!.eventId, events[3]!.eventId, events[4]!.eventId]);
    // No address known: its pushes only. A prefix of an id is another instance.
    expect(ids({ instanceId: 'i-0a1b2c3d4e5f00002' })).toEqual([events[2]!.eventId, events[3]!.eventId]);
    expect(ids({ instanceId: 'i-0a1b2c3d4e5f0000' })).toEqual([]);
  });
  it('by person (the ARN as a whole) and by OS user, combined with AND', () => {
    expect(ids({ user: ALICE })).toEqual([events[0]!.eventId, events[1]!.eventId]);
    expect(ids({ user: 'arn:aws:iam::123456789012:user/ali' })).toEqual([]);
    expect(ids({ osUser: 'root' })).toEqual([events[1]!.eventId, events[3]!.eventId]);
    expect(ids({ osUser: 'root', user: BOB })).toEqual([events[3]!.eventId]);
    expect(ids({ refusedOnly: true })).toEqual([events[2]!.eventId, events[3]!.eventId]);
  });
});

describe('the review of a period', () => {
  const r = reviewOf(events, { startTime: 1, endTime: 2 });
  it('counts everything, the refused attempts and root use', () => {
    expect(r).toMatchObject({ startTime: 1, endTime: 2, total: 6, allowed: 4, refused: 2, root: 2 });
  });
  it('per person, most events first, with the hosts each reached', () => {
    expect(r.people).toEqual([
      { user: BOB, total: 4, refused: 2, root: 1, hosts: ['eice-0a1b2c3d4e5f00001 → 10.0.2.20', 'eice-0a1b2c3d4e5f00009 → 10.0.2.20', 'i-0a1b2c3d4e5f00002'] },
      { user: ALICE, total: 2, refused: 0, root: 1, hosts: ['i-0a1b2c3d4e5f00001'] },
    ]);
  });
  it('per host, with who reached it; a tie sorted by name', () => {
    expect(r.hosts).toEqual([
      { host: 'i-0a1b2c3d4e5f00001', total: 2, refused: 0, root: 1, people: [ALICE] },
      { host: 'i-0a1b2c3d4e5f00002', total: 2, refused: 2, root: 1, people: [BOB] },
      { host: 'eice-0a1b2c3d4e5f00001 → 10.0.2.20', total: 1, refused: 0, root: 0, people: [BOB] },
      { host: 'eice-0a1b2c3d4e5f00009 → 10.0.2.20', total: 1, refused: 0, root: 0, people: [BOB] },
    ]);
    expect(hostOf(ev({ instanceId: null }))).toBe('');
  });
  it('of nothing is zeros', () => {
    expect(reviewOf([], { startTime: 0, endTime: 1 })).toEqual({ startTime: 0, endTime: 1, total: 0, allowed: 0, refused: 0, root: 0, people: [], hosts: [] });
  });
});
