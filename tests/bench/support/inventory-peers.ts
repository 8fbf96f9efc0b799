/**
 * The inventory benchmark's peers, against the same simulators at the same latency:
 * (a) the plain AWS SDK v3, what a script author writes: one EC2Client per profile × region and a
 *     Promise.all over every scope with paginateDescribeInstances and the stock parser;
 * (b) the AWS CLI, `aws ec2 describe-instances` per scope under `xargs -P 16`, what admins script today.
 */
import { spawn } from 'node:child_process';
import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import type { HostedSim } from './inventory-sims';

export interface PeerRun {
  ms: number;
  /** CPU time of the client: this process for (a), the whole xargs/aws process tree for (b). */
  clientCpuMs: number;
  instances: number;
  failedScopes: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/** (a) Plain SDK v3 in this process: every scope at once, every page of DescribeInstances. */
export async function sdkRefresh(sims: HostedSim[], regions: readonly string[]): Promise<PeerRun> {
  const c0 = cpuMs();
  const t0 = performance.now();
  let failedScopes = 0;
  const counts = await Promise.all(
    sims.flatMap((sim) =>
      regions.map(async (region) => {
        const client = new EC2Client({ region, endpoint: sim.endpoint, credentials: { accessKeyId: sim.accessKeyId, secretAccessKey: sim.secretAccessKey } });
        try {
          let n = 0;
          for await (const page of paginateDescribeInstances({ client, pageSize: 1000 }, {})) for (const r of page.Reservations ?? []) n += r.Instances?.length ?? 0;
          return n;
        } catch {
          failedScopes++;
          return 0;
        } finally {
          client.destroy();
        }
      }),
    ),
  );
  return { ms: performance.now() - t0, clientCpuMs: cpuMs() - c0, instances: counts.reduce((a, b) => a + b, 0), failedScopes };
}

/**
 * (b) The AWS CLI per scope under `xargs -P 16`, its output counted by jq-free means (the number
 * of `"InstanceId"` keys). CPU is bash's `times` for its children (xargs and every aws it waited for).
 */
export async function cliRefresh(sims: HostedSim[], regions: readonly string[], env: NodeJS.ProcessEnv): Promise<PeerRun> {
  const lines = sims.flatMap((sim, a) => regions.map((region) => `account-${a} ${region} ${sim.endpoint}`)).join('\n') + '\n';
  // Each scope's instance count, or FAIL; `times` prints the children's user and system time last.
  const script =
    `xargs -P 16 -L 1 sh -c 'out=$(aws ec2 describe-instances --profile "$0" --region "$1" --endpoint-url "$2" --output json 2>/dev/null) || { echo FAIL; exit 0; }; printf "%s\\n" "$out" | grep -c "\\"InstanceId\\""; exit 0'; times`;
  const t0 = performance.now();
  const child = spawn('bash', ['-c', script], { env: { ...env, AWS_PAGER: '' }, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stdin.end(lines);
  const code = await new Promise<number | null>((r) => child.once('exit', r));
  const ms = performance.now() - t0;
  if (code !== 0) throw new Error(`the AWS CLI run exited with ${code}`);
  const rows = out.trim().split('\n');
  // `times`: two lines, the shell's own then its children's, as "XmY.YYYs XmY.YYYs".
  const secs = (s: string) => [...s.matchAll(/(\d+)m([\d.]+)s/g)].reduce((k, m) => k + Number(m[1]) * 60 + Number(m[2]), 0);
  const childrenCpu = secs(rows.at(-1) ?? '') * 1000;
  const scopes = rows.slice(0, -2);
  return {
    ms,
    clientCpuMs: childrenCpu,
    instances: scopes.filter((r) => /^\d+$/.test(r)).reduce((k, r) => k + Number(r), 0),
    failedScopes: scopes.filter((r) => r === 'FAIL').length,
  };
}
