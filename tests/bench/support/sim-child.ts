/**
 * The AWS simulator (with its sshds) and a delay link in a process of their own, for a benchmark
 * whose client must not share its event loop with the service it talks to (AWS is not in the
 * app's process either). Started by `simulatorProcess`; argv[2] is a JSON file:
 * `{ options: SimulatorOptions, latencyMs, awsDir, region }`. Prints one JSON line when ready
 * (ports, AWS config files, endpoints), then answers each line with a JSON line: `stats` (tunnel
 * peaks, the process's CPU), `reset` (the peaks), `link <ms>` (the tunnel's added latency from
 * now on), `sshd-log <instance id>` (that instance's sshd's recent log); exits on `stop`.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { startSimulator } from '../../sim/index';
import { delayLink } from './delay-link';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { options: Parameters<typeof startSimulator>[0]; latencyMs: number; awsDir: string; region: string };
const sim = await startSimulator(spec.options);
sim.admin.setLatency('*', spec.latencyMs);
const link = await delayLink(sim.port, spec.latencyMs);
const files = await sim.writeAwsConfig(spec.awsDir, { region: spec.region, sso: false });
const cpu0 = process.cpuUsage();
const say = (x: unknown) => process.stdout.write(JSON.stringify(x) + '\n');
say({ port: sim.port, linkPort: link.port, configFile: files.configFile, credentialsFile: files.credentialsFile, endpoints: sim.endpoints() });
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'stats') {
    const u = process.cpuUsage(cpu0);
    say({ peaks: sim.tunnelPeaks(), cpuS: (u.user + u.system) / 1e6 });
  } else if (line.startsWith('link ')) {
    // The tunnel's added latency each way, changed between runs (API calls keep latencyMs).
    link.ms = Number(line.slice(5));
    say({ ok: true });
  } else if (line.startsWith('sshd-log ')) {
    say({ log: sim.sshdLog(line.slice(9)) });
  } else if (line === 'reset') {
    sim.resetTunnelPeaks();
    say({ ok: true });
  } else if (line === 'stop') break;
}
link.close();
await sim.stop();
process.exit(0);
