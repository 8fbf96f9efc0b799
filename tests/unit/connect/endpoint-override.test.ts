import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../electron/main/aws/clients';
import { endpointOverride } from '../../../electron/main/aws/endpoints';

let dir: string;
const saved = { ...process.env };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'keyless-endpoints-'));
  writeFileSync(
    join(dir, 'config'),
    [
      '[default]',
      'region = us-east-1',
      '[profile sim]',
      'endpoint_url = http://127.0.0.1:4566',
      '[profile split]',
      'services = local',
      '[services local]',
      'ec2_instance_connect =',
      '  endpoint_url = http://127.0.0.1:7000',
      '',
    ].join('\n'),
  );
  process.env.AWS_CONFIG_FILE = join(dir, 'config');
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(dir, 'credentials');
});
afterEach(() => {
  process.env = { ...saved };
  rmSync(dir, { recursive: true, force: true });
});

describe('endpointOverride (where the EICE tunnel dials, as the SDK decides for the API)', () => {
  it('none without settings: the tunnel dials the endpoint DnsName itself', async () => {
    expect(await endpointOverride('EC2 Instance Connect', undefined, {})).toBeUndefined();
  });
  it('the service-specific variable wins over the general one', async () => {
    const env = { AWS_ENDPOINT_URL: 'http://general:1', AWS_ENDPOINT_URL_EC2_INSTANCE_CONNECT: 'http://eic:2' };
    expect((await endpointOverride('EC2 Instance Connect', 'sim', env))?.href).toBe('http://eic:2/');
    expect((await endpointOverride('EC2 Instance Connect', 'sim', { AWS_ENDPOINT_URL: 'http://general:1' }))?.href).toBe('http://general:1/');
  });
  it("a profile's endpoint_url, and its services section", async () => {
    expect((await endpointOverride('EC2 Instance Connect', 'sim', {}))?.href).toBe('http://127.0.0.1:4566/');
    expect((await endpointOverride('EC2 Instance Connect', 'split', {}))?.href).toBe('http://127.0.0.1:7000/');
  });
  it('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS turns them all off', async () => {
    expect(await endpointOverride('EC2 Instance Connect', 'sim', { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true', AWS_ENDPOINT_URL: 'http://x:1' })).toBeUndefined();
  });
});

describe('AwsClients', () => {
  it("gives a named profile's SDK clients that profile's endpoint_url (the SDK alone would not)", async () => {
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_ENDPOINT_URL;
    const clients = new AwsClients({ credentials: async () => ({ accessKeyId: 'a', secretAccessKey: 'b' }), invalidate() {} });
    try {
      const eic = await clients.instanceConnect('sim', 'us-east-1');
      const endpoint = await eic.config.endpoint?.();
      expect(endpoint?.hostname).toBe('127.0.0.1');
      expect(endpoint?.port).toBe(4566);
      const ec2 = await clients.ec2Client('split', 'us-east-1');
      expect(await ec2.config.endpoint?.()).toBeUndefined();
      expect(await clients.instanceConnect('sim', 'us-east-1')).toBe(eic);
    } finally {
      clients.dispose();
    }
  });
});
