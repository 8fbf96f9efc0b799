import { describe, expect, it } from 'vitest';
import { presignOpenTunnelUrl } from '../../../electron/main/tunnel/presign';

describe('presignOpenTunnelUrl', () => {
  it('reproduces the aws-cli open-tunnel test vector byte for byte', async () => {
    const url = await presignOpenTunnelUrl(
      {
        dnsName: 'eice-123.ec2-instance-connect-endpoint.us-west-2.amazonaws.com',
        endpointId: 'eice-123',
        remotePort: 22,
        privateIpAddress: '10.0.0.0',
        maxTunnelDuration: 1,
        region: 'us-west-2',
      },
      { accessKeyId: 'access_key', secretAccessKey: 'secret_key' },
      new Date(Date.UTC(2020, 0, 1, 1, 1, 1)),
    );
    expect(url).toBe(
      'wss://eice-123.ec2-instance-connect-endpoint.us-west-2.amazonaws.com/openTunnel?instanceConnectEndpointId=eice-123&remotePort=22&privateIpAddress=10.0.0.0&maxTunnelDuration=1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=access_key%2F20200101%2Fus-west-2%2Fec2-instance-connect%2Faws4_request&X-Amz-Date=20200101T010101Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=3a56740422a5b9aebd22d860b7a30c729e459a6f71a83bc0de3a2b44b7353f28',
    );
  });

  it('signs the session token and leaves maxTunnelDuration out when not set', async () => {
    const url = new URL(
      await presignOpenTunnelUrl(
        { dnsName: 'eice-1.example', endpointId: 'eice-1', remotePort: 3389, privateIpAddress: '10.1.2.3', region: 'eu-west-1' },
        { accessKeyId: 'AKID', secretAccessKey: 's', sessionToken: 'tok/en+=' },
      ),
    );
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('tok/en+=');
    expect(url.searchParams.has('maxTunnelDuration')).toBe(false);
    expect(url.searchParams.get('remotePort')).toBe('3389');
    expect([...url.searchParams.keys()].at(-1)).toBe('X-Amz-Signature');
  });
});
