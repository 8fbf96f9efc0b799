// `npm run demo`: the whole app against the AWS simulator, with no AWS account. Starts the
// simulator with the demo fleet, writes an AWS config for it into a temporary folder (never
// ~/.aws), seeds a Keyless data folder with a group of saved EC2 hosts, and starts the browser
// harness pointed at both through the standard AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE
// settings (the config's endpoint_url sends every AWS call to the simulator).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HostStore } from '../../electron/main/store/hosts';
import { demoFleet, sshdMissing, startSimulator, type FleetSpec } from './index';
import { DOCTOR_HOSTS, DOCTOR_REGION, doctorFleet } from './doctor-fleet';

const harnessEntry = fileURLToPath(new URL('../../out/main/harness.js', import.meta.url));
if (!existsSync(harnessEntry)) {
  console.error('The app is not built: run `npm run build` first (npm run demo does this for you).');
  process.exit(1);
}
if (sshdMissing) console.warn(`note: ${sshdMissing} — the instances will have no SSH server, so connections will fail.`);

const work = await mkdtemp(join(tmpdir(), 'keyless-demo-'));
// The demo fleet, and beside it one broken host per reason a connection fails (for the doctor).
const demo = demoFleet();
const broken = doctorFleet();
const fleet: FleetSpec = {
  ...demo,
  vpcs: [...(demo.vpcs ?? []), ...(broken.vpcs ?? [])],
  securityGroups: [...(demo.securityGroups ?? []), ...(broken.securityGroups ?? [])],
  instances: [...(demo.instances ?? []), ...(broken.instances ?? [])],
  endpoints: [...(demo.endpoints ?? []), ...(broken.endpoints ?? [])],
  principals: [...(demo.principals ?? []), ...(broken.principals ?? [])],
};
const sim = await startSimulator({ fleet });
const aws = await sim.writeAwsConfig(join(work, 'aws'));
const home = join(work, 'keyless');

// A saved group per environment, inheriting profile, region and OS user; one host per instance.
const store = new HostStore(home);
const byRegion = new Map<string, string>();
for (const region of new Set(sim.instances().map((i) => i.region))) {
  const group = await store.saveGroup({ name: `demo ${region}`, parentId: null, settings: { profile: 'default', region, osUser: 'ec2-user', connectionType: 'auto' } });
  byRegion.set(region, group.id);
}
const doctorIds = new Set<string>(Object.values(DOCTOR_HOSTS).map((h) => h.id));
for (const i of sim.instances()) {
  if (doctorIds.has(i.id)) continue;
  await store.saveHost({ kind: 'ec2', name: i.tags.Name ?? i.id, groupId: byRegion.get(i.region) ?? null, instanceId: i.id, connectionType: 'eice', tags: ['demo'] });
}
// "doctor": each host fails to connect for one reason (see tests/sim/doctor-fleet.ts); the direct ones at their public door.
const doctorGroup = await store.saveGroup({ name: 'doctor (broken on purpose)', parentId: null, settings: { profile: 'default', region: DOCTOR_REGION } });
for (const h of Object.values(DOCTOR_HOSTS)) {
  await store.saveHost({
    kind: 'ec2',
    name: h.name,
    groupId: doctorGroup.id,
    instanceId: h.id,
    connectionType: h.route,
    ...(h.route === 'direct' ? { port: sim.publicPortFor(h.id)! } : {}),
    ...('osUser' in h ? { osUser: h.osUser } : {}),
    ...('profile' in h ? { profile: h.profile } : {}),
    tags: ['doctor'],
  });
}

const app = spawn(process.execPath, [harnessEntry], {
  env: {
    ...process.env,
    KEYLESS_HOME: home,
    AWS_CONFIG_FILE: aws.configFile,
    AWS_SHARED_CREDENTIALS_FILE: aws.credentialsFile,
    AWS_PROFILE: 'default',
    // The doctor asks checkip.amazonaws.com for this computer's public address; the simulator answers instead.
    KEYLESS_CHECKIP_URL: `${sim.endpoint}/__checkip`,
  },
  stdio: ['ignore', 'inherit', 'inherit'],
});

console.log(`AWS simulator: ${sim.endpoint}  (profiles: ${aws.profiles.join(', ')})`);
console.log(`AWS config for other tools: AWS_CONFIG_FILE=${aws.configFile} AWS_SHARED_CREDENTIALS_FILE=${aws.credentialsFile}`);
console.log(`
What to try, in the page address printed below:
  - Hosts: the "demo" groups hold the fleet. Connect web-1 or app-1: the tab shows the key push,
    the EICE tunnel and the host key confirmed from the console output, with their timings.
  - batch-1 is stopped: connecting says so. db-1 is Ubuntu: connect as ubuntu (edit the host's OS user).
  - Profiles: "operator" may not push keys for ubuntu — the error names the ec2:osuser condition.
  - doctor (broken on purpose): each host fails for one reason (IAM, stopped, impaired, metadata off, wrong
    OS user, no route, security groups on either side, preserve-client-IP, a network ACL, no Instance
    Connect package, a loaded t3). Connect one, then Run doctor: it names the cause; security-group fixes
    apply with one click.
  - Inventory: refresh to see both regions; Audit: the CloudTrail records of what you just did.
Ctrl+C stops the app and the simulator.
`);

// SSO device codes are approved automatically, as if you had clicked "Allow" in the browser.
const approver = setInterval(() => sim.admin.pendingUserCodes().forEach((c) => sim.admin.approveDeviceCode(c)), 500);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  clearInterval(approver);
  app.kill('SIGTERM');
  await sim.stop();
  await rm(work, { recursive: true, force: true });
  process.exit(0);
};
app.on('exit', () => void stop());
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
