import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Simulator } from '../../sim';

/**
 * Points this process's AWS SDK at the simulator as a person's files would: a config and
 * credentials file of its own (in a new temporary folder, returned so the test removes it), and
 * nothing from the environment (no profile, no keys) that could take precedence.
 */
export async function useSimulatorAws(sim: Simulator, region: string): Promise<string> {
  const awsDir = await mkdtemp(join(tmpdir(), 'keyless-aws-'));
  const files = await sim.writeAwsConfig(awsDir, { region, sso: false });
  process.env.AWS_CONFIG_FILE = files.configFile;
  process.env.AWS_SHARED_CREDENTIALS_FILE = files.credentialsFile;
  delete process.env.AWS_PROFILE;
  delete process.env.AWS_ACCESS_KEY_ID;
  delete process.env.AWS_SECRET_ACCESS_KEY;
  return awsDir;
}
