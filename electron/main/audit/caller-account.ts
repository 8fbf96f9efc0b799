import type { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@smithy/types';
import { endpointOverride } from '../aws/endpoints';
import { sdk } from '../aws/sdk';

/**
 * The account of a profile's identity (STS GetCallerIdentity), for the ARNs of a policy when the
 * inventory has not told us yet. Best effort: no questions (an MFA role that is not loaded yet
 * just stays unknown), five seconds at most, remembered per profile for the life of the app.
 */
export class CallerAccounts {
  private readonly known = new Map<string, Promise<string | undefined>>();

  constructor(private readonly credentials: (profile: string) => Promise<AwsCredentialIdentity>) {}

  account(profile: string, region: string): Promise<string | undefined> {
    let p = this.known.get(profile);
    if (!p) {
      p = this.lookup(profile, region);
      this.known.set(profile, p);
      // A failure is not remembered: the next policy asks again.
      void p.then((a) => a === undefined && this.known.get(profile) === p && this.known.delete(profile));
    }
    return p;
  }

  private async lookup(profile: string, region: string): Promise<string | undefined> {
    const signal = AbortSignal.timeout(5000);
    let sts: STSClient | undefined;
    try {
      const creds = await this.credentials(profile);
      const [endpoint, { GetCallerIdentityCommand, STSClient }] = await Promise.all([endpointOverride('STS', profile), sdk.sts()]);
      sts = new STSClient({ region, profile, credentials: creds, maxAttempts: 1, ...(endpoint ? { endpoint: endpoint.href } : {}) });
      const id = await sts.send(new GetCallerIdentityCommand({}), { abortSignal: signal });
      return id.Account ?? undefined;
    } catch {
      return undefined;
    } finally {
      sts?.destroy();
    }
  }
}
