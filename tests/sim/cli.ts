// `npm run sim`: the simulator alone with the demo fleet, until interrupted.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoFleet, sshdMissing, startSimulator } from './index';

const dir = await mkdtemp(join(tmpdir(), 'keyless-sim-aws-'));
const sim = await startSimulator({ fleet: demoFleet() });
const files = await sim.writeAwsConfig(dir);
const env = `AWS_CONFIG_FILE=${files.configFile} AWS_SHARED_CREDENTIALS_FILE=${files.credentialsFile}`;
console.log(`endpoint: ${sim.endpoint}`);
console.log(`AWS_CONFIG_FILE=${files.configFile}`);
console.log(`AWS_SHARED_CREDENTIALS_FILE=${files.credentialsFile}`);
console.log(`try: ${env} aws ec2 describe-instances`);
console.log('');
console.log(`profiles: ${files.profiles.join(', ')} (operator may not push keys for ubuntu; sso needs \`aws sso login --profile sso\` and the code approved below)`);
console.log(`admin API: ${sim.adminUrl}/state (GET), ${sim.adminUrl}/<method> (POST a JSON array of arguments)`);
if (sshdMissing) console.log(`note: ${sshdMissing}; instances have no sshd`);
for (const i of sim.instances()) {
  console.log(`  ${i.id} ${i.region} ${i.state.padEnd(7)} ${(i.tags.Name ?? '').padEnd(10)} private ${i.privateIp}${i.publicIp ? ` public ${i.publicIp}` : ''}${i.sshPort ? ` sshd 127.0.0.1:${i.sshPort}` : ''}`);
}
for (const e of sim.endpoints()) console.log(`  ${e.id} ${e.region} ${e.vpcId} ${e.dnsName} → ${sim.tunnelEndpointFor(e.dnsName)}`);

// SSO device codes are approved automatically here, as if the person clicked "Allow".
const approver = setInterval(() => sim.admin.pendingUserCodes().forEach((c) => sim.admin.approveDeviceCode(c) && console.log(`approved SSO device code ${c}`)), 500);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  clearInterval(approver);
  console.log(`\n${signal}: stopping the simulator`);
  await sim.stop();
  await rm(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', () => void stop('SIGINT'));
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGHUP', () => void stop('SIGHUP'));
