/**
 * The AWS SDK packages, each loaded at its first use and not before. Together they weigh about
 * 100 MB of RSS and half a second of CPU (`@aws-sdk/client-ec2` alone most of it), which neither
 * the app's start nor a `keyless` process answering from Keyless's own files should pay, and a
 * `keyless proxy` loads only the clients its route needs. Modules import the SDK's types with
 * `import type` (free) and its values through these; `import()` keeps each module once loaded.
 */
export const sdk = {
  ec2: () => import('@aws-sdk/client-ec2'),
  instanceConnect: () => import('@aws-sdk/client-ec2-instance-connect'),
  sts: () => import('@aws-sdk/client-sts'),
  sso: () => import('@aws-sdk/client-sso'),
  ssoOidc: () => import('@aws-sdk/client-sso-oidc'),
  iam: () => import('@aws-sdk/client-iam'),
  cloudWatch: () => import('@aws-sdk/client-cloudwatch'),
  credentialProviders: () => import('@aws-sdk/credential-providers'),
  protocols: () => import('@aws-sdk/core/protocols'),
  /** What a hand-signed request needs (a tunnel URL, a CloudTrail look-up). */
  signing: () => Promise.all([import('@smithy/signature-v4'), import('@smithy/hash-node'), import('@smithy/protocol-http')]).then(([{ SignatureV4 }, { Hash }, { HttpRequest }]) => ({ SignatureV4, Hash, HttpRequest })),
} as const;
