// The doctor: reads what the account says about one instance's connect path — in parallel where
// the reads do not depend on each other — tries the connection itself, and turns both into the
// checklist (checks.ts). Applies a security-group fix the person confirmed.
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { EC2Client, IpPermission } from '@aws-sdk/client-ec2';
import type { ContextEntry, IAMClient } from '@aws-sdk/client-iam';
import type { STSClient } from '@aws-sdk/client-sts';
import type { DoctorCall, DoctorGroupChange, DoctorReport } from '../../contract';
import type { AwsClients } from '../aws/clients';
import { endpointOverride } from '../aws/endpoints';
import { sdk } from '../aws/sdk';
import { KeylessFailure } from '../base/errors';
import type { Logger } from '../base/log';
import type { InstanceConnector, Ec2Target } from '../connect/instance-connector';
import { defaultOsUser } from '../connect/plan';
import { causeOf, diagnose, isUnread, type AclFacts, type AttemptOutcome, type DoctorFacts, type EndpointFacts, type GroupFacts, type GroupRule, type IamDecision, type InstanceFacts, type Read, type RouteTableFacts, type Unread } from './checks';

export interface DoctorDeps {
  clients: AwsClients;
  connector: InstanceConnector;
  log: Logger;
  /** This computer's public address as AWS sees it (default: https://checkip.amazonaws.com, or KEYLESS_CHECKIP_URL). */
  publicAddress?: () => Promise<string | undefined>;
  env?: NodeJS.ProcessEnv;
  /** How long the doctor's own connect attempt may take (default 12 s). */
  attemptTimeoutMs?: number;
}

/** Records each call: when it started and ended, and which calls it had to wait for. */
class CallLog {
  readonly calls: DoctorCall[] = [];
  private readonly t0 = performance.now();
  async run<T>(name: string, after: string[], fn: () => Promise<T>): Promise<T> {
    const startMs = performance.now() - this.t0;
    try {
      return await fn();
    } finally {
      this.calls.push({ name, startMs: Math.round(startMs), endMs: Math.round(performance.now() - this.t0), after });
    }
  }
  get elapsedMs(): number {
    return Math.round(performance.now() - this.t0);
  }
}

interface SdkError {
  name?: string;
  message?: string;
}
/** A failed read: the permission it lacked when AWS denied it. */
function unreadOf(err: unknown, action: string): Unread {
  const e = err as SdkError;
  const denied = /AccessDenied|UnauthorizedOperation|AuthorizationError/.test(e.name ?? '');
  return { unread: true, ...(denied ? { lacking: action.split(' ')[0]! } : {}), message: (e.message ?? String(err)).slice(0, 300) };
}
async function read<T>(log: CallLog, name: string, after: string[], fn: () => Promise<T>): Promise<Read<T>> {
  try {
    return await log.run(name, after, fn);
  } catch (err) {
    return unreadOf(err, name);
  }
}

const rulesOf = (perms: IpPermission[] | undefined): GroupRule[] =>
  (perms ?? []).map((p) => ({
    protocol: p.IpProtocol ?? '-1',
    fromPort: p.FromPort,
    toPort: p.ToPort,
    cidrs: [...(p.IpRanges ?? []).map((r) => r.CidrIp ?? ''), ...(p.Ipv6Ranges ?? []).map((r) => r.CidrIpv6 ?? '')].filter(Boolean),
    groupIds: (p.UserIdGroupPairs ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
  }));

export class Doctor {
  private readonly extra = new Map<string, Promise<{ sts: STSClient; iam: IAMClient; cw: CloudWatchClient }>>();

  constructor(private readonly deps: DoctorDeps) {}

  /** STS, IAM and CloudWatch clients for a profile and region, made once (the EC2 client is the app's). */
  private clientsFor(profile: string | undefined, region: string) {
    const key = `${profile ?? ''}\n${region}`;
    let c = this.extra.get(key);
    if (!c) {
      const make = async () => {
        const base = { region, ...(profile ? { profile } : {}), credentials: () => this.deps.clients.credentials.credentials(profile), maxAttempts: 2 };
        const at = async (id: string) => {
          const e = await endpointOverride(id, profile, this.deps.env);
          return e ? { endpoint: e.href } : {};
        };
        const [sts, iam, cw, { STSClient }, { IAMClient }, { CloudWatchClient }] = await Promise.all([at('STS'), at('IAM'), at('CloudWatch'), sdk.sts(), sdk.iam(), sdk.cloudWatch()]);
        return { sts: new STSClient({ ...base, ...sts }), iam: new IAMClient({ ...base, region: 'us-east-1', ...iam }), cw: new CloudWatchClient({ ...base, ...cw }) };
      };
      this.extra.set(key, (c = make()));
      c.catch(() => this.extra.delete(key));
    }
    return c;
  }

  private async publicAddress(): Promise<string | undefined> {
    if (this.deps.publicAddress) return this.deps.publicAddress();
    const url = (this.deps.env ?? process.env).KEYLESS_CHECKIP_URL || 'https://checkip.amazonaws.com/';
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const text = (await res.text()).trim();
    return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) ? text : undefined;
  }

  /** The checklist for one instance (the last hop of a saved host, or a target given in full). */
  async run(target: Ec2Target): Promise<DoctorReport> {
    const log = new CallLog();
    const { profile, region, instanceId } = target;
    // The connection itself, first: its own reads, push and tunnel run beside the doctor's reads.
    const attemptAbort = new AbortController();
    const attemptP = log.run('connect', [], () => this.attempt(target, attemptAbort.signal));
    const ec2 = await this.deps.clients.ec2Client(profile, region);
    const { sts, iam, cw } = await this.clientsFor(profile, region);
    const [
      {
        DescribeImagesCommand,
        DescribeInstanceConnectEndpointsCommand,
        DescribeInstancesCommand,
        DescribeInstanceStatusCommand,
        DescribeInternetGatewaysCommand,
        DescribeNetworkAclsCommand,
        DescribeRouteTablesCommand,
        DescribeSecurityGroupsCommand,
        DescribeSubnetsCommand,
        DescribeVpcsCommand,
      },
      { GetCallerIdentityCommand },
      { GetRoleCommand, SimulatePrincipalPolicyCommand },
      { GetMetricDataCommand },
    ] = await Promise.all([sdk.ec2(), sdk.sts(), sdk.iam(), sdk.cloudWatch()]);

    // Round one: nothing needed but the instance id.
    const callerP = read(log, 'sts:GetCallerIdentity', [], async () => {
      const id = await sts.send(new GetCallerIdentityCommand({}));
      return { arn: id.Arn ?? '', account: id.Account ?? '' };
    });
    const instanceP = read(log, 'ec2:DescribeInstances', [], async () => {
      const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
      const i = out.Reservations?.[0]?.Instances?.[0];
      if (!i) throw new KeylessFailure('InstanceNotFound', `The instance ${instanceId} was not found in ${region}.`, false);
      return {
        instanceId,
        name: i.Tags?.find((t) => t.Key === 'Name')?.Value ?? instanceId,
        state: i.State?.Name ?? 'unknown',
        instanceType: i.InstanceType ?? '',
        vpcId: i.VpcId ?? '',
        subnetId: i.SubnetId ?? '',
        privateIp: i.PrivateIpAddress ?? '',
        publicIp: i.PublicIpAddress,
        groupIds: (i.SecurityGroups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
        metadataEndpoint: i.MetadataOptions?.HttpEndpoint ?? 'enabled',
        imageId: i.ImageId,
      } satisfies InstanceFacts & { imageId?: string | undefined };
    });
    const statusP = read(log, 'ec2:DescribeInstanceStatus', [], async () => {
      const out = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [instanceId], IncludeAllInstances: true }));
      const s = out.InstanceStatuses?.[0];
      const worst = [s?.InstanceStatus?.Status, s?.SystemStatus?.Status].find((x) => x === 'impaired') ?? s?.InstanceStatus?.Status ?? 'not-applicable';
      return worst as NonNullable<DoctorFacts['status']> & string;
    });
    const metricsP = read(log, 'cloudwatch:GetMetricData', [], async () => {
      const end = new Date();
      const start = new Date(end.getTime() - 3600_000);
      const q = (id: string, name: string) => ({ Id: id, MetricStat: { Metric: { Namespace: 'AWS/EC2', MetricName: name, Dimensions: [{ Name: 'InstanceId', Value: instanceId }] }, Period: 300, Stat: name === 'CPUCreditBalance' ? 'Minimum' : 'Average' } });
      const out = await cw.send(new GetMetricDataCommand({ StartTime: start, EndTime: end, MetricDataQueries: [q('cpu', 'CPUUtilization'), q('credits', 'CPUCreditBalance')] }));
      const values = (id: string) => out.MetricDataResults?.find((r) => r.Id === id)?.Values ?? [];
      return { cpu: values('cpu'), credits: values('credits') };
    });
    const clientIpP = log.run('checkip', [], () => this.publicAddress()).catch(() => undefined);


    // Round two: what the instance names (its VPC, image, groups, subnet).
    const instance = await instanceP;
    const inst = isUnread(instance) ? undefined : instance;
    const vpcFilter = inst ? [{ Name: 'vpc-id', Values: [inst.vpcId] }] : [];
    const after = ['ec2:DescribeInstances'];
    const byVpc = <T>(name: string, fn: () => Promise<T>): Promise<Read<T> | undefined> => (inst ? read(log, name, after, fn) : Promise.resolve(undefined));
    const imageP = byVpc('ec2:DescribeImages', async () => (inst?.imageId ? ((await ec2.send(new DescribeImagesCommand({ ImageIds: [inst.imageId] }))).Images?.[0]?.Name ?? undefined) : undefined));
    const groupsP = byVpc('ec2:DescribeSecurityGroups', async () => {
      const out = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: vpcFilter }));
      return (out.SecurityGroups ?? []).map((g): GroupFacts => ({ groupId: g.GroupId ?? '', name: g.GroupName ?? '', ingress: rulesOf(g.IpPermissions), egress: rulesOf(g.IpPermissionsEgress) }));
    });
    const tablesP = byVpc('ec2:DescribeRouteTables', async () => {
      const out = await ec2.send(new DescribeRouteTablesCommand({ Filters: vpcFilter }));
      return (out.RouteTables ?? []).map(
        (t): RouteTableFacts => ({
          routeTableId: t.RouteTableId ?? '',
          main: (t.Associations ?? []).some((a) => a.Main),
          subnetIds: (t.Associations ?? []).map((a) => a.SubnetId ?? '').filter(Boolean),
          routes: (t.Routes ?? []).map((r) => ({ destination: r.DestinationCidrBlock ?? '', gatewayId: r.GatewayId })),
        }),
      );
    });
    const gatewayP = byVpc('ec2:DescribeInternetGateways', async () => (await ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [inst?.vpcId ?? ''] }] }))).InternetGateways?.[0]?.InternetGatewayId);
    const aclsP = byVpc('ec2:DescribeNetworkAcls', async () => {
      const out = await ec2.send(new DescribeNetworkAclsCommand({ Filters: vpcFilter }));
      return (out.NetworkAcls ?? []).map(
        (a): AclFacts => ({
          aclId: a.NetworkAclId ?? '',
          isDefault: !!a.IsDefault,
          subnetIds: (a.Associations ?? []).map((x) => x.SubnetId ?? '').filter(Boolean),
          entries: (a.Entries ?? []).map((e) => ({ ruleNumber: e.RuleNumber ?? 32767, egress: !!e.Egress, protocol: e.Protocol ?? '-1', allow: e.RuleAction === 'allow', cidr: e.CidrBlock ?? '', from: e.PortRange?.From, to: e.PortRange?.To })),
        }),
      );
    });
    const subnetsP = byVpc('ec2:DescribeSubnets', async () => ((await ec2.send(new DescribeSubnetsCommand({ Filters: vpcFilter }))).Subnets ?? []).map((s) => ({ subnetId: s.SubnetId ?? '', cidr: s.CidrBlock ?? '' })));
    const vpcP = byVpc('ec2:DescribeVpcs', async () => (await ec2.send(new DescribeVpcsCommand({ VpcIds: [inst?.vpcId ?? ''] }))).Vpcs?.[0]?.CidrBlock);
    const endpointsP = byVpc('ec2:DescribeInstanceConnectEndpoints', async () => {
      const out = await ec2.send(new DescribeInstanceConnectEndpointsCommand({ Filters: vpcFilter }));
      return (out.InstanceConnectEndpoints ?? []).map((e): EndpointFacts => ({ endpointId: e.InstanceConnectEndpointId ?? '', state: e.State ?? '', subnetId: e.SubnetId ?? '', groupIds: e.SecurityGroupIds ?? [], preserveClientIp: !!e.PreserveClientIp }));
    });

    // The principal IAM simulates: a user as is; an assumed role by its role's ARN, whose path only GetRole tells.
    const sourceP = (async (): Promise<Read<string>> => {
      const caller = await callerP;
      if (isUnread(caller)) return caller;
      const assumed = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\//.exec(caller.arn);
      if (!assumed) return caller.arn;
      const role = await read(log, 'iam:GetRole', ['sts:GetCallerIdentity'], () => iam.send(new GetRoleCommand({ RoleName: assumed[2]! })));
      return isUnread(role) ? role : (role.Role?.Arn ?? `arn:aws:iam::${assumed[1]!}:role/${assumed[2]!}`);
    })();
    const sourceAfter = async () => {
      const caller = await callerP;
      return !isUnread(caller) && /:assumed-role\//.test(caller.arn) ? ['iam:GetRole'] : ['sts:GetCallerIdentity'];
    };
    const simulate = async (name: string, extraAfter: string[], action: string, resource: string, context: ContextEntry[]): Promise<Read<IamDecision>> => {
      const source = await sourceP;
      if (isUnread(source)) return source;
      return read(log, name, [...(await sourceAfter()), ...extraAfter], async () => {
        const out = await iam.send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: source, ActionNames: [action], ResourceArns: [resource], ContextEntries: context }));
        return (out.EvaluationResults?.[0]?.EvalDecision ?? 'implicitDeny') as IamDecision;
      });
    };

    const [image, caller] = await Promise.all([imageP, callerP]);
    const imageName = image && !isUnread(image) ? image : undefined;
    const expectedUser = defaultOsUser(imageName, undefined);
    const osUser = target.osUser ?? expectedUser;
    const account = isUnread(caller) ? '' : caller.account;
    const pushP = simulate('iam:SimulatePrincipalPolicy SendSSHPublicKey', target.osUser ? [] : ['ec2:DescribeImages'], 'ec2-instance-connect:SendSSHPublicKey', `arn:aws:ec2:${region}:${account}:instance/${instanceId}`, [
      { ContextKeyName: 'ec2:osuser', ContextKeyValues: [osUser], ContextKeyType: 'string' },
    ]);

    const endpoints = await endpointsP;
    const route: 'direct' | 'eice' = target.connectionType === 'direct' || (target.connectionType === 'auto' && !!inst?.publicIp) ? 'direct' : 'eice';
    const list = endpoints && !isUnread(endpoints) ? endpoints : [];
    const usable = (e: EndpointFacts) => ['create-complete', 'update-in-progress', 'update-failed', 'update-complete'].includes(e.state);
    const endpoint = target.endpointId ? list.find((e) => e.endpointId === target.endpointId) : (list.find((e) => usable(e) && e.subnetId === inst?.subnetId) ?? list.find(usable) ?? list[0]);
    const tunnelP =
      route === 'eice' && endpoint && inst
        ? simulate('iam:SimulatePrincipalPolicy OpenTunnel', ['ec2:DescribeInstanceConnectEndpoints'], 'ec2-instance-connect:OpenTunnel', `arn:aws:ec2:${region}:${account}:instance-connect-endpoint/${endpoint.endpointId}`, [
            { ContextKeyName: 'ec2-instance-connect:remotePort', ContextKeyValues: ['22'], ContextKeyType: 'numeric' },
            { ContextKeyName: 'ec2-instance-connect:privateIpAddress', ContextKeyValues: [inst.privateIp], ContextKeyType: 'ip' },
            { ContextKeyName: 'ec2-instance-connect:maxTunnelDuration', ContextKeyValues: [String(target.maxTunnelDuration ?? 3600)], ContextKeyType: 'numeric' },
          ])
        : Promise.resolve(undefined);

    const [status, metrics, clientIp, groups, tables, gateway, acls, subnets, vpcCidr, iamPush, iamTunnel] = await Promise.all([statusP, metricsP, clientIpP, groupsP, tablesP, gatewayP, aclsP, subnetsP, vpcP, pushP, tunnelP]);
    const facts: DoctorFacts = {
      region,
      instanceId,
      osUser,
      expectedUser,
      osUserChosen: target.osUser !== undefined,
      route,
      caller,
      instance: inst ? { ...inst, imageName } : (instance as Unread),
      status,
      groups,
      vpcCidr: vpcCidr && !isUnread(vpcCidr) ? vpcCidr : undefined,
      subnets,
      routeTables: tables,
      internetGatewayId: gateway && !isUnread(gateway) ? gateway : undefined,
      acls,
      endpoints,
      endpoint,
      clientIp,
      iamPush,
      iamTunnel,
      metrics,
    };
    // The reads already name a cause on the path: the attempt would only wait for its timeout.
    const preliminary = diagnose({ ...facts, attempt: { outcome: 'notTried', pushed: false, message: '' } });
    const blocking = preliminary.some((l) => l.status === 'failed' && ['instanceState', 'statusChecks', 'route', 'securityGroups', 'networkAcls'].includes(l.check));
    if (blocking) attemptAbort.abort();
    facts.attempt = await attemptP;

    // Who else a security-group fix would touch.
    const lines0 = diagnose(facts);
    const fixGroups = [...new Set(lines0.flatMap((l) => (l.fix?.change ? [l.fix.change.groupId] : [])))];
    if (fixGroups.length) {
      facts.sharing = Object.fromEntries(
        await Promise.all(
          fixGroups.map(async (g) => {
            const out = await log.run('ec2:DescribeInstances (group members)', ['ec2:DescribeSecurityGroups'], () => ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance.group-id', Values: [g] }] }))).catch(() => undefined);
            const members = (out?.Reservations ?? []).flatMap((r) => r.Instances ?? []).map((i) => ({ instanceId: i.InstanceId ?? '', name: i.Tags?.find((t) => t.Key === 'Name')?.Value ?? i.InstanceId ?? '' }));
            return [g, members] as const;
          }),
        ),
      );
    }
    const lines = diagnose(facts);
    const report: DoctorReport = { instanceId, route: inst ? route : null, osUser, lines, cause: causeOf(lines), wallMs: log.elapsedMs, calls: log.calls };
    this.deps.log.info('doctor ran', { instance: instanceId, route, cause: report.cause ?? 'none', ms: report.wallMs });
    return report;
  }

  /** Connects as Keyless would, and closes at once: whether the push went through, and how it ended. */
  private async attempt(target: Ec2Target, signal: AbortSignal): Promise<{ outcome: AttemptOutcome; pushed: boolean; message: string }> {
    const ac = new AbortController();
    const stop = () => ac.abort();
    signal.addEventListener('abort', stop, { once: true });
    const timer = setTimeout(stop, this.deps.attemptTimeoutMs ?? 12_000);
    let pushed = false;
    try {
      const conn = await this.deps.connector.connect(
        { kind: 'ec2', target, label: target.instanceId } as Parameters<InstanceConnector['connect']>[0],
        undefined,
        {
          signal: ac.signal,
          report: (step, status) => {
            if (step === 'keyPush' && status === 'done') pushed = true;
          },
          // The doctor never trusts a host key on its own: only what known_hosts or the console output vouch for.
          askHostKey: () => Promise.resolve(false),
          askPassphrase: () => Promise.resolve(null),
        },
      );
      conn.ssh.end();
      return { outcome: 'connected', pushed: true, message: '' };
    } catch (err) {
      const e = err instanceof KeylessFailure ? err : undefined;
      const code = e?.code ?? '';
      const message = (err instanceof Error ? err.message : String(err)).slice(0, 300);
      if (signal.aborted) return { outcome: 'notTried', pushed, message };
      if (code === 'PushedKeyRefused') return { outcome: 'keyRefused', pushed, message };
      if (code === 'AwsAccessDenied') return { outcome: 'pushDenied', pushed, message };
      if (code === 'InstanceNotRunning') return { outcome: 'notRunning', pushed, message };
      return { outcome: pushed ? 'pushed-unreachable' : code === 'Cancelled' ? 'unreachable' : 'unreachable', pushed, message };
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
  }

  /** Applies one security-group change the doctor proposed (the contract already refused ranges). */
  async applyFix(target: Ec2Target, change: DoctorGroupChange): Promise<{ ruleIds: string[] }> {
    const ec2: EC2Client = await this.deps.clients.ec2Client(target.profile, target.region);
    const { AuthorizeSecurityGroupEgressCommand, AuthorizeSecurityGroupIngressCommand } = await sdk.ec2();
    const permission: IpPermission = {
      IpProtocol: 'tcp',
      FromPort: 22,
      ToPort: 22,
      ...('cidr' in change.peer ? { IpRanges: [{ CidrIp: change.peer.cidr, Description: 'keyless-doctor' }] } : { UserIdGroupPairs: [{ GroupId: change.peer.groupId, Description: 'keyless-doctor' }] }),
    };
    const input = { GroupId: change.groupId, IpPermissions: [permission] };
    try {
      const out = change.direction === 'ingress' ? await ec2.send(new AuthorizeSecurityGroupIngressCommand(input)) : await ec2.send(new AuthorizeSecurityGroupEgressCommand(input));
      this.deps.log.info('doctor fix applied', { group: change.groupId, direction: change.direction });
      return { ruleIds: (out.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? '').filter(Boolean) };
    } catch (err) {
      const e = err as SdkError;
      if (e.name === 'InvalidPermission.Duplicate') return { ruleIds: [] };
      if (/UnauthorizedOperation|AccessDenied/.test(e.name ?? '')) {
        throw new KeylessFailure('AwsAccessDenied', `Not allowed to change security group ${change.groupId}: ${e.message ?? ''}`, false, { action: `ec2:AuthorizeSecurityGroup${change.direction === 'ingress' ? 'Ingress' : 'Egress'}` });
      }
      throw new KeylessFailure('AwsServiceError', `AWS did not change security group ${change.groupId}: ${e.message ?? String(err)}`, true);
    }
  }

  dispose(): void {
    for (const c of this.extra.values()) void c.then((x) => [x.sts, x.iam, x.cw].forEach((y) => y.destroy()), () => {});
    this.extra.clear();
  }
}

/** The doctor's channels, given how a reference becomes its EC2 target (the last hop of a saved host). */
export function doctorHandlers(doctor: Doctor, targetOf: (ref: { hostId?: string | undefined; target?: unknown }) => Promise<Ec2Target>) {
  return {
    'doctor.run': async (args: { hostId?: string | undefined; target?: unknown }) => doctor.run(await targetOf(args)),
    'doctor.applyFix': async ({ change, ...ref }: { hostId?: string | undefined; target?: unknown; change: DoctorGroupChange }) => doctor.applyFix(await targetOf(ref), change),
  };
}
