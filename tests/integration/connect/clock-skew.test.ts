/**
 * Connecting through an EICE tunnel from a computer whose clock is wrong. The simulator is as
 * strict as AWS about a presigned URL's dates (none before its X-Amz-Date, none after its 60
 * seconds), and its clock is shifted instead of this process's: "the client is 2 minutes slow"
 * is the service 2 minutes ahead, and every answer it sends carries its own `Date`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../electron/main/aws/clients';
import { SdkCredentialSource } from '../../../electron/main/aws/credentials';
import { Ec2Inventory } from '../../../electron/main/connect/ec2-inventory';
import { createLogger } from '../../../electron/main/base/log';
import type { ConnectHooks } from '../../../electron/main/connect/connector';
import { InstanceConnector, type Ec2Target } from '../../../electron/main/connect/instance-connector';
import { KnownHosts } from '../../../electron/main/ssh/known-hosts';
import { sshdMissing, startSimulator, type Simulator } from '../../sim/index';

if (sshdMissing) console.warn(`Skipping the clock skew tests: ${sshdMissing}`);

const REGION = 'us-west-2';
const PRIVATE = 'i-0c10c4000000a0001';
const MINUTE = 60_000;
const TARGET: Ec2Target = { region: REGION, instanceId: PRIVATE, connectionType: 'eice', port: 22 };

let sim: Simulator;
let dir: string;
const logLines: string[] = [];
const saved = { ...process.env };

beforeAll(async () => {
  if (sshdMissing) return;
  sim = await startSimulator({
    regions: [REGION],
    fleet: {
      vpcs: [{ id: 'vpc-0c10c4000000a0001', region: REGION, cidr: '10.31.0.0/16', subnets: [{ id: 'subnet-0c10c400000a0011', availabilityZone: `${REGION}a`, cidr: '10.31.1.0/24' }] }],
      instances: [{ id: PRIVATE, region: REGION, subnetId: 'subnet-0c10c400000a0011', amiName: 'al2023-ami-2023.6.20241121.0-kernel-6.1-x86_64' }],
      endpoints: [{ id: 'eice-0c10c400000a0001', region: REGION, subnetId: 'subnet-0c10c400000a0011' }],
    },
  });
  dir = await mkdtemp(join(tmpdir(), 'keyless-skew-'));
  const files = await sim.writeAwsConfig(dir, { region: REGION, sso: false });
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_')) delete process.env[k];
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
}, 120_000);

afterAll(async () => {
  if (sshdMissing) return;
  await sim?.stop();
  await rm(dir, { recursive: true, force: true });
  process.env = saved;
});

beforeEach(() => {
  if (sshdMissing) return;
  sim.admin.setClockSkew(0);
  logLines.length = 0;
});

/** A connect engine as the app builds one: its own clients, clock and planner cache, nothing learned yet. */
function engine() {
  const clients = new AwsClients(new SdkCredentialSource());
  const connector = new InstanceConnector({
    clients,
    inventory: new Ec2Inventory(clients),
    knownHosts: new KnownHosts(join(dir, 'known_hosts')),
    log: createLogger('connect', (l) => logLines.push(l), 'debug'),
  });
  return { clients, connector };
}
const hooks = (): ConnectHooks => ({ report() {}, askHostKey: async () => true, askPassphrase: async () => null, signal: new AbortController().signal });

/** Authenticated through the tunnel: the pushed key was accepted by the instance's sshd. */
async function connects(connector: InstanceConnector): Promise<void> {
  const conn = await connector.connect({ kind: 'ec2', label: TARGET.instanceId, target: TARGET }, undefined, hooks());
  expect(conn.plan.kind).toBe('eice');
  conn.ssh.end();
}

const retries = () => logLines.filter((l) => l.includes('tunnel URL refused for its date')).length;

// Service ahead of this computer = this computer's clock is slow.
const SKEWS: Array<[string, number]> = [
  ['2 minutes slow', 2 * MINUTE],
  ['2 minutes fast', -2 * MINUTE],
  ['20 minutes slow', 20 * MINUTE],
  ['20 minutes fast', -20 * MINUTE],
];

describe.skipIf(!!sshdMissing)('EICE tunnels from a computer whose clock is off', () => {
  it.each(SKEWS)('%s: a first connection works (the answers before the tunnel set the clock)', async (_what, skew) => {
    sim.admin.setClockSkew(skew);
    const { clients, connector } = engine();
    try {
      await connects(connector);
      expect(Math.abs(clients.clock.offsetMs - skew)).toBeLessThan(5000);
    } finally {
      clients.dispose();
    }
  });

  it.each(SKEWS)('%s, after the clock changed under a running app: the refused URL is signed again by the corrected clock, once', async (_what, skew) => {
    const { clients, connector } = engine();
    try {
      await connects(connector);
      const { plan } = await connector.plan(TARGET);
      if (plan.kind !== 'eice') throw new Error('expected a tunnel');
      // Nothing else is in flight: the tunnel's own refusal is all the clock can learn from.
      sim.admin.setClockSkew(skew);
      const tunnel = await connector.openTunnel(TARGET, plan, 22);
      tunnel.destroy();
      expect(retries()).toBe(1);
      expect(Math.abs(clients.clock.offsetMs - skew)).toBeLessThan(5000);
      await connects(connector);
    } finally {
      clients.dispose();
    }
  });

  it('on the hot path the clock costs no call: a warm connection asks AWS for the key push and the tunnel only, each once', async () => {
    sim.admin.setClockSkew(20 * MINUTE);
    const { clients, connector } = engine();
    try {
      await connects(connector);
      const since = new Date(Date.now() + 20 * MINUTE);
      logLines.length = 0;
      await connects(connector);
      expect(sim.admin.authorizations(since).map((a) => a.action).sort()).toEqual(['ec2-instance-connect:OpenTunnel', 'ec2-instance-connect:SendSSHPublicKey']);
      expect(retries()).toBe(0);
    } finally {
      clients.dispose();
    }
  });
});
