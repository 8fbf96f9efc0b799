import { z } from 'zod';
import { requestIdSchema } from './common';
import { keylessErrorSchema } from './errors';
import { awsProfileSchema, awsRegionSchema } from './hosts';

// ---------------------------------------------------------------------------------------------
// Profiles: what the AWS config and credentials files say, never a secret.
// ---------------------------------------------------------------------------------------------

/** How a profile gets its credentials, in the order the SDK's `fromIni` decides it. */
export const PROFILE_KINDS = ['assumeRole', 'static', 'webIdentity', 'process', 'sso', 'ssoLegacy', 'login', 'unknown'] as const;
export const profileKindSchema = z.enum(PROFILE_KINDS);
export type ProfileKind = z.infer<typeof profileKindSchema>;

const opt = z.string().nullable();
export const profileSummarySchema = z.object({
  name: z.string(),
  kind: profileKindSchema,
  /** The profile's `region`, or AWS_REGION when it names none. */
  region: opt,
  sourceProfile: opt,
  credentialSource: opt,
  roleArn: opt,
  /** The MFA device's ARN: an identifier, not a secret. */
  mfaSerial: opt,
  ssoSession: opt,
  ssoStartUrl: opt,
  ssoRegion: opt,
  ssoAccountId: opt,
  ssoRoleName: opt,
  endpointUrl: opt,
  /** Which files define it. */
  inConfig: z.boolean(),
  inCredentials: z.boolean(),
});
export type ProfileSummary = z.infer<typeof profileSummarySchema>;

export const ssoSessionSummarySchema = z.object({
  name: z.string(),
  startUrl: opt,
  region: opt,
  scopes: opt,
});
export type SsoSessionSummary = z.infer<typeof ssoSessionSummarySchema>;

export const profileListSchema = z.object({
  configFile: z.string(),
  credentialsFile: z.string(),
  /** AWS_PROFILE, else `default`. */
  defaultProfile: z.string(),
  profiles: z.array(profileSummarySchema),
  ssoSessions: z.array(ssoSessionSummarySchema),
});
export type ProfileList = z.infer<typeof profileListSchema>;

/**
 * What a check of a profile found. `expiring`: the credentials (or the SSO token behind them) lapse
 * within 15 minutes; `signInRequired`: an SSO profile whose token is missing or expired.
 */
export const CREDENTIAL_STATES = ['valid', 'expiring', 'expired', 'signInRequired', 'error'] as const;
export const credentialStateSchema = z.enum(CREDENTIAL_STATES);
export type CredentialState = z.infer<typeof credentialStateSchema>;

export const profileCheckSchema = z.object({
  profile: z.string(),
  state: credentialStateSchema,
  account: opt,
  arn: opt,
  /** Epoch ms when the credentials (or the SSO token) expire; null for long-term keys. */
  expiresAt: z.number().nullable(),
  checkedAt: z.number(),
  error: keylessErrorSchema.optional(),
});
export type ProfileCheck = z.infer<typeof profileCheckSchema>;

const startUrlSchema = z
  .string()
  .trim()
  .max(2048)
  // The URL parser drops a newline inside the text; the AWS config would not.
  .refine((s) => !/[\p{Cc}\u2028\u2029]/u.test(s), 'an address without line breaks or control characters')
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'https:' || u.protocol === 'http:') && !u.username && !u.password;
    } catch {
      return false;
    }
  }, 'an https address such as https://my-org.awsapps.com/start');
const iniNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9_.@+-]+$/, 'a name of letters, digits and . _ @ + -');

export const ssoAccountSchema = z.object({
  accountId: z.string(),
  accountName: z.string().nullable(),
  email: z.string().nullable(),
  roles: z.array(z.string()),
});
export type SsoAccount = z.infer<typeof ssoAccountSchema>;

export const newSsoProfileSchema = z
  .object({
    profile: iniNameSchema,
    session: iniNameSchema,
    startUrl: startUrlSchema,
    ssoRegion: awsRegionSchema,
    accountId: z.string().regex(/^\d{12}$/, 'a 12-digit account id'),
    roleName: z.string().trim().min(1).max(64).regex(/^[\w+=,.@-]+$/, 'an IAM role name'),
    region: awsRegionSchema.optional(),
    output: z.enum(['json', 'yaml', 'yaml-stream', 'text', 'table']).optional(),
  })
  .strict();
export type NewSsoProfile = z.infer<typeof newSsoProfileSchema>;

// ---------------------------------------------------------------------------------------------
// Inventory
// ---------------------------------------------------------------------------------------------

/** How Keyless could reach an instance's port 22: its public address, or an Instance Connect Endpoint of its VPC. */
export const reachSchema = z.enum(['public', 'endpoint', 'none']);
export type Reach = z.infer<typeof reachSchema>;

/**
 * Tags as AWS gives them, key to value, in an object without a prototype: `__proto__`,
 * `constructor` or `toString` are keys like any other, neither dropped nor found where no such tag is.
 */
export function tagRecord(entries: Iterable<readonly [string, string]>): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) out[k] = v;
  return out;
}

/** The value of the tag `key`, or undefined; never something an object inherits (`constructor`). */
export function tagValue(tags: Readonly<Record<string, string>>, key: string): string | undefined {
  return Object.hasOwn(tags, key) ? tags[key] : undefined;
}

/** A tag map read from a file (the inventory cache): zod's record would drop a `__proto__` key. */
const tagMapSchema = z
  .custom<Record<string, string>>((v) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string'), 'expected tags: keys with text values')
  .transform((v) => tagRecord(Object.entries(v)));

export const inventoryInstanceSchema = z.object({
  profile: z.string(),
  account: z.string(),
  region: z.string(),
  id: z.string(),
  name: z.string(),
  state: z.string(),
  type: z.string(),
  az: z.string(),
  vpcId: z.string(),
  subnetId: z.string(),
  privateIp: z.string(),
  publicIp: z.string(),
  imageId: z.string(),
  /** The AMI's name (DescribeImages), empty when it could not be read. */
  imageName: z.string(),
  /** `Linux/UNIX`, `Windows`, `Red Hat Enterprise Linux`, … */
  platform: z.string(),
  defaultUser: z.string(),
  reach: reachSchema,
  endpointId: z.string().nullable(),
  launchedAt: z.number().nullable(),
  tags: tagMapSchema,
});
export type InventoryInstance = z.infer<typeof inventoryInstanceSchema>;

export const inventoryEndpointSchema = z.object({
  profile: z.string(),
  region: z.string(),
  id: z.string(),
  vpcId: z.string(),
  subnetId: z.string(),
  state: z.string(),
  dnsName: z.string(),
  fipsDnsName: z.string().nullable(),
});
export type InventoryEndpoint = z.infer<typeof inventoryEndpointSchema>;

export const inventoryNetworkSchema = z.object({
  profile: z.string(),
  region: z.string(),
  id: z.string(),
  /** Subnets only. */
  vpcId: z.string().nullable(),
  cidr: z.string(),
  name: z.string(),
  az: z.string().nullable(),
});
export type InventoryNetwork = z.infer<typeof inventoryNetworkSchema>;

export const scopeStatusSchema = z.enum(['ok', 'failed']);
/** One profile × region of a refresh: how it went. */
export const inventoryScopeSchema = z.object({
  profile: z.string(),
  region: z.string(),
  account: z.string().nullable(),
  status: scopeStatusSchema,
  /** Why DescribeInstances failed here (its instances, if any, are from the last good refresh). */
  error: keylessErrorSchema.optional(),
  /** A failed look-up the scope did without (endpoints, VPCs or subnets): reachability may be incomplete. */
  warning: keylessErrorSchema.optional(),
  instances: z.number(),
  calls: z.number(),
  ms: z.number(),
  checkedAt: z.number(),
  /** When the instances shown for this scope were described; null if never. */
  dataAt: z.number().nullable(),
});
export type InventoryScope = z.infer<typeof inventoryScopeSchema>;

export const inventorySnapshotSchema = z.object({
  fetchedAt: z.number(),
  scopes: z.array(inventoryScopeSchema),
  instances: z.array(inventoryInstanceSchema),
  endpoints: z.array(inventoryEndpointSchema),
  vpcs: z.array(inventoryNetworkSchema),
  subnets: z.array(inventoryNetworkSchema),
});
export type InventorySnapshot = z.infer<typeof inventorySnapshotSchema>;

const profileNames = z.array(awsProfileSchema).min(1).max(200);
const regionNames = z.array(awsRegionSchema).min(1).max(64);

/** AWS profiles, SSO sign-in and the fleet inventory. */
export const awsRequests = {
  'aws.profiles.list': { args: z.object({}).strict(), result: profileListSchema },
  /**
   * Loads a profile's credentials (asking for an MFA code if its role wants one) and calls STS
   * GetCallerIdentity. Failures come back in the result's `state` and `error`, not as a rejection.
   */
  'aws.profiles.check': {
    args: z.object({ requestId: requestIdSchema, profile: awsProfileSchema }).strict(),
    result: profileCheckSchema,
  },
  /** Device-authorization sign-in for an SSO profile or sso-session; the code arrives as `aws.sso.device`. */
  'aws.sso.login': {
    args: z
      .object({ requestId: requestIdSchema, profile: awsProfileSchema.optional(), session: iniNameSchema.optional() })
      .strict()
      .refine((a) => !!a.profile !== !!a.session, 'a profile or an sso-session, not both'),
    result: z.object({ expiresAt: z.number(), cacheFile: z.string() }),
  },
  /** Signs in to a new sso-session (device flow) and lists the accounts and roles it can use. */
  'aws.sso.discover': {
    args: z.object({ requestId: requestIdSchema, session: iniNameSchema, startUrl: startUrlSchema, ssoRegion: awsRegionSchema }).strict(),
    result: z.object({ accounts: z.array(ssoAccountSchema) }),
  },
  /** Adds a profile (and its sso-session) to the AWS config as `aws configure sso` does, keeping every other byte. */
  'aws.sso.createProfile': {
    args: newSsoProfileSchema,
    result: z.object({ configFile: z.string(), backupFile: z.string().nullable() }),
  },
  /** The cached inventory (no Describe call), or null before the first refresh. */
  'inventory.get': { args: z.object({}).strict(), result: inventorySnapshotSchema.nullable() },
  /** Describes every chosen profile × region (all regions each profile has enabled when none are given). */
  'inventory.refresh': {
    args: z.object({ requestId: requestIdSchema, profiles: profileNames, regions: regionNames.optional() }).strict(),
    result: inventorySnapshotSchema,
  },
} as const;

export const awsEvents = {
  /** The SSO device code: show it, and the page where the person confirms it. */
  'aws.sso.device': z.object({
    requestId: requestIdSchema,
    userCode: z.string(),
    verificationUri: z.string(),
    verificationUriComplete: z.string().nullable(),
    expiresAt: z.number(),
    /** Whether the system browser was opened (never in the browser harness). */
    browserOpened: z.boolean(),
  }),
  'inventory.progress': z.object({
    requestId: requestIdSchema,
    done: z.number(),
    total: z.number(),
    profile: z.string(),
    region: z.string(),
    status: scopeStatusSchema,
  }),
  /** A refresh (on demand or in the background) replaced the cached inventory. */
  'inventory.updated': z.object({ fetchedAt: z.number() }),
} as const;
