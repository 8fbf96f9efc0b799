import { Agent } from 'node:https';
import { EC2Client } from '@aws-sdk/client-ec2';
import { EC2InstanceConnectClient } from '@aws-sdk/client-ec2-instance-connect';
import type { Disposable } from '../base/lifecycle';
import type { CredentialSource } from './credentials';

/**
 * SDK clients, one per profile, region and service, kept for the life of the app so every call
 * after the first reuses a kept-alive HTTPS connection (a key push is then one round trip).
 * Endpoint overrides (AWS_ENDPOINT_URL…, a profile's endpoint_url) are applied by the SDK itself.
 */
export class AwsClients implements Disposable {
  private readonly eic = new Map<string, EC2InstanceConnectClient>();
  private readonly ec2 = new Map<string, EC2Client>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(readonly credentials: CredentialSource) {}

  private config(profile: string | undefined, region: string) {
    return {
      region,
      ...(profile ? { profile } : {}),
      credentials: () => this.credentials.credentials(profile),
      requestHandler: { httpsAgent: this.agent, connectionTimeout: 10_000, requestTimeout: 30_000 },
      maxAttempts: 3,
    };
  }

  instanceConnect(profile: string | undefined, region: string): EC2InstanceConnectClient {
    const key = `${profile ?? ''}\n${region}`;
    let c = this.eic.get(key);
    if (!c) this.eic.set(key, (c = new EC2InstanceConnectClient(this.config(profile, region))));
    return c;
  }

  ec2Client(profile: string | undefined, region: string): EC2Client {
    const key = `${profile ?? ''}\n${region}`;
    let c = this.ec2.get(key);
    if (!c) this.ec2.set(key, (c = new EC2Client(this.config(profile, region))));
    return c;
  }

  dispose(): void {
    for (const c of [...this.eic.values(), ...this.ec2.values()]) c.destroy();
    this.eic.clear();
    this.ec2.clear();
    this.agent.destroy();
  }
}
