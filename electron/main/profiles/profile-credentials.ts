import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { runCredentialProcess } from '../aws/credential-process';
import { describeCredentialError, type CredentialSource } from '../aws/credentials';
import { endpointOverride } from '../aws/endpoints';
import { sdk } from '../aws/sdk';
import { checkTokenFile } from '../aws/shared-files';
import { KeylessFailure } from '../base/errors';
import type { Logger } from '../base/log';
import { environmentKind, profileKind, readAwsFiles, tokenFilesOf, usesEnvironment } from './profile-files';

/**
 * Asks the person for the current code of an MFA device; null means they declined.
 * `retry` is true after STS refused the previous code.
 */
export type MfaAsker = (profile: string, mfaSerial: string, retry: boolean) => Promise<string | null>;

/** Reload this long before expiry, so no call carries credentials about to lapse. */
const REFRESH_MARGIN_MS = 5 * 60_000;
const MFA_TRIES = 3;

interface Entry {
  loading: Promise<AwsCredentialIdentity>;
  value?: AwsCredentialIdentity;
}

/**
 * Credentials per AWS profile, resolved by the SDK's own `fromIni` (static keys, role chains with
 * source_profile or credential_source, external_id, mfa_serial, sso_session and legacy SSO,
 * credential_process, web identity) and kept in memory only until shortly before they expire.
 * Concurrent callers share one load, so a refresh of 17 regions asks for one MFA code, not 17.
 *
 * The connect engine uses it through `CredentialSource`, or `provider(profile)` for an SDK client.
 */
export class ProfileCredentials implements CredentialSource {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly opts: {
      /** Used when a caller gives no asker of its own (the connect engine, a background refresh). */
      askMfa?: MfaAsker;
      log?: Logger;
    } = {},
  ) {}

  /** A provider an SDK client can take as `credentials`; every call goes through the cache. */
  provider(profile: string, askMfa?: MfaAsker): AwsCredentialIdentityProvider {
    return () => this.credentials(profile, askMfa);
  }

  /** `undefined` is AWS_PROFILE, else `default`, as everywhere in the SDK. */
  async credentials(profile: string | undefined, askMfa?: MfaAsker): Promise<AwsCredentialIdentity> {
    const name = profile ?? (process.env.AWS_PROFILE || 'default');
    const entry = this.cache.get(name);
    if (entry) {
      if (!entry.value) {
        // A load started by a caller who could not be asked for an MFA code is retried by one who can.
        return entry.loading.catch((err: unknown) => {
          if (err instanceof KeylessFailure && err.code === 'AwsMfaRequired' && askMfa) return this.credentials(name, askMfa);
          throw err;
        });
      }
      const exp = entry.value.expiration?.getTime();
      if (exp === undefined || exp - Date.now() > REFRESH_MARGIN_MS) return entry.value;
    }
    const fresh: Entry = { loading: this.load(name, askMfa ?? this.opts.askMfa) };
    this.cache.set(name, fresh);
    try {
      fresh.value = await fresh.loading;
      return fresh.value;
    } catch (err) {
      if (this.cache.get(name) === fresh) this.cache.delete(name);
      throw err;
    }
  }

  /** When the credentials of `profile` expire (undefined: long-term keys), if they are loaded. */
  cachedExpiry(profile: string): Date | undefined {
    return this.cache.get(profile)?.value?.expiration;
  }

  invalidate(profile: string | undefined): void {
    this.cache.delete(profile ?? (process.env.AWS_PROFILE || 'default'));
  }

  /** After the config files or the SSO cache changed under us. */
  invalidateAll(): void {
    this.cache.clear();
  }

  private async load(profile: string, askMfa: MfaAsker | undefined): Promise<AwsCredentialIdentity> {
    // The SDK applies a config file's endpoint_url for the AWS_PROFILE profile only; the inner
    // STS (roles) and SSO clients get this profile's override explicitly.
    const files = await readAwsFiles();
    const { configFile, credentialsFile } = files;
    if (usesEnvironment(profile, files)) {
      // The default profile with no credentials in the files: the SDK's own providers of its
      // default chain read the environment (keys, or AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN).
      try {
        const { fromEnv, fromTokenFile } = await sdk.credentialProviders();
        if (environmentKind() === 'static') return await fromEnv()();
        const sts = await endpointOverride('STS', profile);
        const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
        return await fromTokenFile({ clientConfig: { region, ...(sts ? { endpoint: sts.href } : {}) } })();
      } catch (err) {
        throw this.failed(err, profile);
      }
    }
    // The SDK reads these as it resolves the profile (a web identity token synchronously): checked first.
    try {
      for (const file of tokenFilesOf(profile, files)) await checkTokenFile(file);
    } catch (err) {
      throw this.failed(err, profile);
    }
    const merged = { ...(configFile[profile] ?? {}), ...(credentialsFile[profile] ?? {}) };
    const kind = profileKind(merged);
    if (kind === 'process' && merged.credential_process) {
      // Run here rather than by fromIni, whose error drops the exit status and quotes the command line.
      try {
        return await runCredentialProcess(profile, merged.credential_process, merged.aws_account_id);
      } catch (err) {
        throw this.failed(err, profile);
      }
    }
    const endpoint = await endpointOverride(kind === 'sso' || kind === 'ssoLegacy' ? 'SSO' : 'STS', profile);
    const clientConfig = { profile, ...(endpoint ? { endpoint: endpoint.href } : {}) };
    for (let attempt = 0; ; attempt++) {
      let asked = false;
      const mfaCodeProvider = async (serial: string): Promise<string> => {
        if (!askMfa) {
          throw new KeylessFailure('AwsMfaRequired', `Profile "${profile}" needs a code from its MFA device ${serial}; check the profile in Keyless first.`, false, {
            profile,
            mfaSerial: serial,
          });
        }
        asked = true;
        const code = await askMfa(profile, serial, attempt > 0);
        if (code === null) throw new KeylessFailure('Cancelled', 'The MFA code was not given.', true);
        return code.trim();
      };
      try {
        // The profile goes to the SDK's inner STS/SSO clients too, so its endpoint_url applies to them.
        const { fromIni } = await sdk.credentialProviders();
        const provider = fromIni({
          profile,
          ignoreCache: true,
          mfaCodeProvider,
          clientConfig,
          parentClientConfig: { profile },
        });
        return await provider();
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        if (asked && attempt + 1 < MFA_TRIES && /MultiFactorAuthentication|MFA|one time pass ?code/i.test(msg)) continue;
        throw this.failed(err, profile);
      }
    }
  }

  /** The failure in words about the profile; the log gets those words, never the SDK's raw message. */
  private failed(err: unknown, profile: string): KeylessFailure {
    const failure = describeCredentialError(err, profile);
    this.opts.log?.info('credentials failed to load', { profile, code: failure.code, error: failure.message.slice(0, 400) });
    return failure;
  }
}
