import { Agent } from 'node:https';
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { EC2InstanceConnectClient } from '@aws-sdk/client-ec2-instance-connect';
import type { Disposable } from '../base/lifecycle';
import { AwsClock, useAwsClock, type ClockedClient } from './clock';
import type { CredentialSource } from './credentials';
import { endpointOverride } from './endpoints';
import { sdk } from './sdk';

/**
 * SDK clients, one per profile, region and service, kept for the life of the app so every call
 * after the first reuses a kept-alive HTTPS connection (a key push is then one round trip).
 * Endpoint overrides (AWS_ENDPOINT_URL…, a profile's endpoint_url or services section) are looked
 * up per profile and passed explicitly: the SDK applies a config file's endpoint_url only for the
 * AWS_PROFILE profile, not for the `profile` a client is given.
 */
export class AwsClients implements Disposable {
  private readonly eic = new Map<string, Promise<EC2InstanceConnectClient>>();
  private readonly ec2 = new Map<string, Promise<EC2Client>>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    readonly credentials: CredentialSource,
    /** AWS's clock, learned from these clients' answers; presigned tunnel URLs are dated by it. */
    readonly clock: AwsClock = new AwsClock(),
  ) {}

  private async config(serviceId: string, profile: string | undefined, region: string) {
    const endpoint = await endpointOverride(serviceId, profile);
    return {
      region,
      ...(profile ? { profile } : {}),
      ...(endpoint ? { endpoint: endpoint.href } : {}),
      credentials: () => this.credentials.credentials(profile),
      requestHandler: { httpsAgent: this.agent, connectionTimeout: 10_000, requestTimeout: 30_000 },
      maxAttempts: 3,
    };
  }

  instanceConnect(profile: string | undefined, region: string): Promise<EC2InstanceConnectClient> {
    const key = `${profile ?? ''}\n${region}`;
    let c = this.eic.get(key);
    if (!c) this.eic.set(key, (c = Promise.all([this.config('EC2 Instance Connect', profile, region), sdk.instanceConnect()]).then(([cfg, m]) => this.clocked(new m.EC2InstanceConnectClient(cfg)))));
    c.catch(() => this.eic.delete(key));
    return c;
  }

  ec2Client(profile: string | undefined, region: string): Promise<EC2Client> {
    const key = `${profile ?? ''}\n${region}`;
    let c = this.ec2.get(key);
    if (!c) this.ec2.set(key, (c = Promise.all([this.config('EC2', profile, region), sdk.ec2()]).then(([cfg, m]) => this.clocked(new m.EC2Client(cfg)))));
    c.catch(() => this.ec2.delete(key));
    return c;
  }

  private clocked<C extends ClockedClient<I, O>, I extends object, O extends object>(client: C & ClockedClient<I, O>): C {
    useAwsClock(client, this.clock);
    return client;
  }

  dispose(): void {
    for (const c of [...this.eic.values(), ...this.ec2.values()]) void c.then((client) => client.destroy(), () => {});
    this.eic.clear();
    this.ec2.clear();
    this.agent.destroy();
  }
}
