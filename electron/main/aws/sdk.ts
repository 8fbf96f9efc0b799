import { checkAwsFiles } from './shared-files';

/**
 * A loader of a client or credential provider, which reads the shared AWS files (region, retries,
 * endpoints, the profile): those files are checked first, every time (see checkAwsFiles).
 */
function readsAwsFiles<T>(load: () => Promise<T>): () => Promise<T> {
  return async () => {
    await checkAwsFiles();
    return load();
  };
}

/**
 * The AWS SDK packages, each loaded at its first use and not before. Together they weigh about
 * 100 MB of RSS and half a second of CPU (`@aws-sdk/client-ec2` alone most of it), which neither
 * the app's start nor a `keyless` process answering from Keyless's own files should pay, and a
 * `keyless proxy` loads only the clients its route needs. Modules import the SDK's types with
 * `import type` (free) and its values through these; `import()` keeps each module once loaded.
 */
export const sdk = {
  ec2: readsAwsFiles(() => import('@aws-sdk/client-ec2')),
  instanceConnect: readsAwsFiles(() => import('@aws-sdk/client-ec2-instance-connect')),
  sts: readsAwsFiles(() => import('@aws-sdk/client-sts')),
  sso: readsAwsFiles(() => import('@aws-sdk/client-sso')),
  ssoOidc: readsAwsFiles(() => import('@aws-sdk/client-sso-oidc')),
  iam: readsAwsFiles(() => import('@aws-sdk/client-iam')),
  cloudWatch: readsAwsFiles(() => import('@aws-sdk/client-cloudwatch')),
  credentialProviders: readsAwsFiles(() => import('@aws-sdk/credential-providers')),
  protocols: () => import('@aws-sdk/core/protocols'),
  /** What a hand-signed request needs (a tunnel URL, a CloudTrail look-up). */
  signing: () => Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node'), import('@smithy/protocol-http')]).then(([{ SignatureV4 }, { Hash }, { HttpRequest }]) => ({ SignatureV4, Hash, HttpRequest })),
} as const;
