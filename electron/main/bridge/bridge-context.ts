import { homedir } from 'node:os';
import { join } from 'node:path';
import { AwsClients } from '../aws/clients';
import { AwsClock } from '../aws/clock';
import type { CredentialSource } from '../aws/credentials';
import { fail } from '../base/errors';
import type { Logger } from '../base/log';
import { Ec2Inventory } from '../connect/ec2-inventory';
import type { Ec2Target } from '../connect/instance-connector';
import type { EndpointFacts, InstanceFacts } from '../connect/plan';
import { ec2TargetOfHost } from '../connect/route';
import { InventoryCache } from '../inventory/inventory-cache';
import { ProfileCredentials } from '../profiles/profile-credentials';
import { KnownHosts } from '../ssh/known-hosts';
import { HostStore } from '../store/hosts';
import type { InventoryInstance, InventorySnapshot } from '../../contract';

/** Where the `keyless` command keeps nothing but its agent sockets, and reads the app's data. */
export interface BridgePaths {
  /** The app's data folder (saved hosts, known_hosts, inventory cache). */
  home: string;
  /** Where the agent sockets live (owner-only). */
  agentDir: string;
}

/** The data folder the app uses (KEYLESS_HOME, else the platform's per-user config folder), the same rule as `defaultHome`. */
export function bridgePaths(env: NodeJS.ProcessEnv = process.env): BridgePaths {
  const home = env.KEYLESS_HOME
    ? env.KEYLESS_HOME
    : process.platform === 'darwin'
      ? join(homedir(), 'Library', 'Application Support', 'Keyless')
      : process.platform === 'win32'
        ? join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'Keyless')
        : join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'keyless');
  // A short folder of its own: socket paths may not pass 104 bytes, and Application Support has a space.
  const agentDir = env.KEYLESS_AGENT_DIR ?? (process.platform === 'darwin' ? join(homedir(), '.ssh', 'keyless-agents') : join(home, 'agents'));
  return { home, agentDir };
}

/**
 * The main process's own connect pieces, made for one `keyless` run: credentials that never ask
 * (no terminal to ask on), the SDK clients, the instance and endpoint facts (seeded from the app's
 * inventory cache on disk when it has the instance), Keyless's known_hosts. The connector (ssh2,
 * the tunnel) is the proxy's own, so the commands that only read Keyless's files never load it.
 */
export class BridgeContext {
  readonly credentials: CredentialSource;
  readonly clients: AwsClients;
  readonly inventory: Ec2Inventory;
  readonly knownHosts: KnownHosts;
  readonly hosts: HostStore;
  readonly cache: InventoryCache;

  constructor(
    readonly paths: BridgePaths,
    readonly log: Logger,
    credentials?: CredentialSource,
  ) {
    this.credentials = credentials ?? new ProfileCredentials({ log });
    this.clients = new AwsClients(this.credentials, new AwsClock());
    this.inventory = new Ec2Inventory(this.clients);
    this.knownHosts = new KnownHosts(join(paths.home, 'known_hosts'), []);
    this.hosts = new HostStore(paths.home);
    this.cache = new InventoryCache(join(paths.home, 'inventory.json'), log);
  }

  dispose(): void {
    this.clients.dispose();
    this.hosts.dispose();
  }

  /** The app's last inventory, or null. */
  snapshot(): Promise<InventorySnapshot | null> {
    return this.cache.load().then((f) => f?.snapshot ?? null);
  }

  /**
   * The EC2 target `%h` names: a saved EC2 host's name, an instance id (a saved host's settings
   * when one has it, else the inventory's profile and region, else the default profile and
   * AWS_REGION), or an instance's Name in the inventory. OpenSSH lowercases `%h`, so names match
   * regardless of case. The instance's facts from the inventory cache are given to the planner, so
   * a warm cache needs no Describe call.
   */
  async resolve(host: string, user: string, port: number): Promise<{ target: Ec2Target; label: string }> {
    const tree = await this.hosts.tree();
    const snapshot = await this.snapshot();
    const lower = host.toLowerCase();
    const ec2Hosts = tree.hosts.filter((h) => h.kind === 'ec2');
    const byName = ec2Hosts.filter((h) => h.name.toLowerCase() === lower);
    const isId = /^i-[0-9a-f]{8,17}$/.test(lower);
    let target: Ec2Target | undefined;
    let label = host;
    const saved = byName[0] ?? (isId ? ec2Hosts.find((h) => h.instanceId === lower) : undefined);
    if (byName.length > 1) fail('InvalidArguments', `More than one saved host is named ${host}; connect by instance id.`, { field: 'host', host });
    if (saved && saved.kind === 'ec2') {
      target = ec2TargetOfHost(saved, tree.groups);
      label = saved.name;
    } else {
      const found = (snapshot?.instances ?? []).filter((i) => (isId ? i.id === lower : i.name.toLowerCase() === lower));
      const ids = new Set(found.map((i) => `${i.profile}/${i.region}/${i.id}`));
      if (!isId && ids.size > 1) {
        fail('InvalidArguments', `More than one instance in the inventory is named ${host} (${found.map((i) => i.id).join(', ')}); connect by instance id.`, { field: 'host', host });
      }
      const inv = found[0];
      if (inv) {
        target = { ...(inv.profile && inv.profile !== 'default' ? { profile: inv.profile } : {}), region: inv.region, instanceId: inv.id, connectionType: 'auto', port };
        label = inv.name || inv.id;
      } else if (isId) {
        const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
        if (!region) fail('InvalidArguments', `${host} is neither saved in Keyless nor in its inventory, and AWS_REGION is not set: save the host, refresh the inventory, or set AWS_REGION.`, { field: 'host', host });
        target = { region, instanceId: lower, connectionType: 'auto', port };
      } else {
        fail('NotFound', `${host} is not a saved EC2 host, an instance id, or an instance name in Keyless's inventory.`, { host });
      }
    }
    // OpenSSH's user and port are the ones that count: it authenticates as %r on %p.
    target = { ...target, osUser: user, port };
    if (snapshot) this.seedFromSnapshot(snapshot, target);
    return { target, label };
  }

  /** Puts the cached inventory's facts of the target's instance (and its VPC's endpoints) where the planner finds them. */
  private seedFromSnapshot(snapshot: InventorySnapshot, target: Ec2Target): void {
    const profile = target.profile ?? 'default';
    const inv = snapshot.instances.find((i) => i.id === target.instanceId && i.region === target.region && (i.profile || 'default') === profile);
    if (!inv) return;
    const endpoints: EndpointFacts[] = snapshot.endpoints
      .filter((e) => e.profile === inv.profile && e.region === inv.region && e.vpcId === inv.vpcId)
      .map((e) => ({ endpointId: e.id, state: e.state, vpcId: e.vpcId, ...(e.subnetId ? { subnetId: e.subnetId } : {}), dnsName: e.dnsName, ...(e.fipsDnsName ? { fipsDnsName: e.fipsDnsName } : {}) }));
    const scope = snapshot.scopes.find((s) => s.profile === inv.profile && s.region === inv.region);
    // Only an endpoint list the refresh could read says "no endpoint"; otherwise the planner asks.
    const endpointsRead = endpoints.length > 0 || scope?.status === 'ok';
    this.inventory.seed(target.profile ?? '', target.region, { at: snapshot.fetchedAt, instances: [instanceFactsOf(inv)], ...(endpointsRead ? { endpoints } : {}) });
  }
}

function instanceFactsOf(i: InventoryInstance): InstanceFacts {
  return {
    instanceId: i.id,
    state: i.state,
    ...(i.az ? { availabilityZone: i.az } : {}),
    ...(i.vpcId ? { vpcId: i.vpcId } : {}),
    ...(i.subnetId ? { subnetId: i.subnetId } : {}),
    ...(i.privateIp ? { privateIpAddress: i.privateIp } : {}),
    ...(i.publicIp ? { publicIpAddress: i.publicIp } : {}),
    ...(i.imageName ? { imageName: i.imageName } : {}),
    ...(i.platform ? { platformDetails: i.platform } : {}),
  };
}
