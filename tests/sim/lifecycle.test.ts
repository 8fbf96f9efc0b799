import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sshdMissing, startSimulator } from './index';
import { aws, awsEnv } from './support';

if (sshdMissing) console.warn(`Skipping the simulator lifecycle tests: ${sshdMissing}`);

/** sshd processes whose command line mentions `needle` (the simulator's temp folder). */
function sshdProcesses(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (/sshd/.test(cmd[0] ?? '') && cmd.join(' ').includes(needle)) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

describe.skipIf(!!sshdMissing)('simulator lifecycle', () => {
  it('starts ten instances with real sshd (start time printed) and stops leaving no process', async () => {
    const t0 = performance.now();
    const sim = await startSimulator({
      fleet: {
        vpcs: [{ id: 'vpc-0ccc0000000000001', region: 'us-east-1', cidr: '10.7.0.0/16', subnets: [{ id: 'subnet-0ccc0000000000001', availabilityZone: 'us-east-1a', cidr: '10.7.1.0/24' }] }],
        instances: Array.from({ length: 10 }, () => ({ region: 'us-east-1', subnetId: 'subnet-0ccc0000000000001' })),
      },
    });
    const ms = performance.now() - t0;
    console.log(`simulator with 10 instances started in ${ms.toFixed(0)} ms`);
    const root = `${sim.dir}/`;
    try {
      expect(sim.instances().filter((i) => i.sshdRunning)).toHaveLength(10);
      expect(sshdProcesses(root)).toHaveLength(10);
      const d = await aws(sim.endpoint, awsEnv(sim.principals[0]!), ['ec2', 'describe-instances', '--query', 'Reservations[].Instances[].PrivateIpAddress']);
      expect(d.json).toHaveLength(10);
    } finally {
      await sim.stop();
    }
    expect(sshdProcesses(root)).toEqual([]);
  });

  it('`npm run sim` prints the endpoint and AWS files first, works from another shell, and leaves nothing on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/sim/cli.ts'], { cwd: new URL('../..', import.meta.url).pathname, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`cli did not print its header:\n${out}`)), 120_000);
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 4) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    const [endpointLine, configLine, credentialsLine, tryLine] = out.split('\n');
    expect(endpointLine).toMatch(/^endpoint: http:\/\/127\.0\.0\.1:\d+$/);
    expect(configLine).toMatch(/^AWS_CONFIG_FILE=\/.+\/config$/);
    expect(credentialsLine).toMatch(/^AWS_SHARED_CREDENTIALS_FILE=\/.+\/credentials$/);
    expect(tryLine).toContain('aws ec2 describe-instances');
    await new Promise((r) => setTimeout(r, 300));
    const configFile = configLine!.split('=')[1]!;
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, AWS_CONFIG_FILE: configFile, AWS_SHARED_CREDENTIALS_FILE: credentialsLine!.split('=')[1]! };
    const { execFileSync } = await import('node:child_process');
    const ids = JSON.parse(execFileSync('aws', ['ec2', 'describe-instances', '--query', 'Reservations[].Instances[].InstanceId'], { env }).toString()) as string[];
    expect(ids.length).toBeGreaterThanOrEqual(4);
    const running = sshdProcesses('keyless-sim-').filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/status`, 'utf8').includes(`PPid:\t${child.pid}`);
      } catch {
        return false;
      }
    });
    expect(running.length).toBeGreaterThan(0);
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(running.filter((pid) => sshdProcesses('keyless-sim-').includes(pid))).toEqual([]);
  });
});
