import { randomBytes } from 'node:crypto';
import type { PolicyDocument } from './iam';
import type { Identity, World } from './state';

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
function upper(n: number): string {
  return [...randomBytes(n)].map((b) => ALNUM[b % 32]).join('');
}

/** Temporary credentials as STS mints them: ASIA… key, 40-char secret, opaque session token. */
export function mintTemporary(w: World, arn: string, policies: PolicyDocument[], seconds: number, roleId: string): Identity {
  const id: Identity = {
    accessKeyId: `ASIA${upper(16)}`,
    secretAccessKey: randomBytes(30).toString('base64'),
    sessionToken: `IQoJb3JpZ2luX2VjE${randomBytes(96).toString('base64')}`,
    arn,
    userId: `${roleId}:${arn.split('/').pop()}`,
    policies,
    expiration: new Date(w.now().getTime() + seconds * 1000),
    type: 'AssumedRole',
  };
  w.identities.set(id.accessKeyId, id);
  return id;
}

/** A stable unique id (AIDA… for users, AROA… for roles) derived from the ARN. */
export function uniqueId(prefix: 'AIDA' | 'AROA', arn: string): string {
  let h = 0;
  for (const c of arn) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  const digits = h.toString(32).toUpperCase().padStart(8, 'Q');
  return `${prefix}${(digits + 'SIMULATEDIDENTITY').slice(0, 17)}`;
}
