import { generateKeyPair, sign, constants, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ApiError, instanceArn, type Identity, type Instance, type PushedKey, type World } from './state';

export interface JsonCall {
  identity: Identity;
  region: string;
  requestId: string;
  sourceIp: string;
  userAgent: string;
  input: Record<string, unknown>;
}

const LIMITS = {
  InstanceId: { min: 10, max: 32, pattern: /^i-[a-f0-9]+$/, source: '^i-[a-f0-9]+$' },
  InstanceOSUser: {
    min: 1,
    max: 32,
    pattern: /(^[A-Za-z_][A-Za-z0-9@._-]{0,30}[A-Za-z0-9$_-]?$)|(^(?=.{2,32}$)[0-9]{1,32}[A-Za-z@._-][A-Za-z0-9@._-]*[A-Za-z0-9$_-]?$)/,
    source: '(^[A-Za-z_][A-Za-z0-9\\@\\._-]{0,30}[A-Za-z0-9\\$_-]?$)|(^(?=.{2,32}$)[0-9]{1,32}[A-Za-z\\@\\._-][A-Za-z0-9\\@\\._-]*[A-Za-z0-9\\$_-]?$)',
  },
  SSHPublicKey: { min: 80, max: 4096 },
  AvailabilityZone: { min: 6, max: 32, pattern: /^(\w+-){2,3}\d+\w+$/, source: '^(\\w+-){2,3}\\d+\\w+$' },
} as const;

/** The model's constraints, worded as AWS's request validation words them. */
function validate(input: Record<string, unknown>, required: string[], members: (keyof typeof LIMITS)[]): void {
  const problems: string[] = [];
  for (const name of members) {
    const v = input[name];
    const field = name.charAt(0).toLowerCase() + name.slice(1);
    if (v === undefined || v === null) {
      if (required.includes(name)) problems.push(`Value null at '${field}' failed to satisfy constraint: Member must not be null`);
      continue;
    }
    if (typeof v !== 'string') {
      problems.push(`Value '${String(v)}' at '${field}' failed to satisfy constraint: Member must be a string`);
      continue;
    }
    const lim = LIMITS[name];
    if (v.length < lim.min || v.length > lim.max) problems.push(`Value '${v.slice(0, 100)}' at '${field}' failed to satisfy constraint: Member must have length between ${lim.min} and ${lim.max}, inclusive`);
    else if ('pattern' in lim && !lim.pattern.test(v)) problems.push(`Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${lim.source}`);
  }
  if (problems.length) throw new ApiError('ValidationException', `${problems.length} validation error${problems.length > 1 ? 's' : ''} detected: ${problems.join('; ')}`, 400);
}

/** Reads an OpenSSH one-line public key; throws InvalidArgsException as the service does. */
export function checkPublicKey(line: string): { type: string; line: string } {
  const invalid = () => new ApiError('InvalidArgsException', 'SSH Public key is invalid', 400);
  const [type, b64] = line.trim().split(/\s+/);
  if (!type || !b64 || !/^[A-Za-z0-9+/]+=*$/.test(b64)) throw invalid();
  const blob = Buffer.from(b64, 'base64');
  const strings: Buffer[] = [];
  for (let off = 0; off + 4 <= blob.length && strings.length < 4; ) {
    const n = blob.readUInt32BE(off);
    if (off + 4 + n > blob.length) throw invalid();
    strings.push(blob.subarray(off + 4, off + 4 + n));
    off += 4 + n;
  }
  if (strings[0]?.toString() !== type) throw invalid();
  if (type.startsWith('sk-') || type === 'ssh-dss') throw new ApiError('InvalidArgsException', `Unsupported SSH public key type: ${type}`, 400);
  if (type === 'ssh-rsa') {
    const n = strings[2];
    if (!n) throw invalid();
    const bits = (n.length - (n[0] === 0 ? 1 : 0)) * 8;
    if (bits < 2048) throw new ApiError('InvalidArgsException', 'RSA keys must be at least 2048 bits', 400);
  } else if (!['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521'].includes(type)) {
    throw invalid();
  }
  return { type, line: line.trim() };
}

function liveInstance(w: World, region: string, id: string, az: unknown): Instance {
  const i = w.instances.get(id);
  if (!i || i.region !== region || (typeof az === 'string' && az !== i.availabilityZone)) {
    throw new ApiError('EC2InstanceNotFoundException', `Instance not found: ${id}`, 404);
  }
  if (i.state !== 'running') throw new ApiError('EC2InstanceStateInvalidException', `Instance ${id} is not in a valid state for this operation: ${i.state}`, 400);
  if (w.unavailable.has(id)) throw new ApiError('EC2InstanceUnavailableException', 'The instance is currently unavailable. Please try again later.', 503);
  return i;
}

function authorizeEic(w: World, call: JsonCall, action: string, resource: string, context: Record<string, string | number>) {
  try {
    w.authorize(call.identity, { action: `ec2-instance-connect:${action}`, resource, context: { 'aws:SourceIp': call.sourceIp, 'aws:RequestedRegion': call.region, ...context } });
  } catch (e) {
    if (e instanceof ApiError) throw new ApiError('AccessDeniedException', e.message, 400);
    throw e;
  }
}

function tagContext(i: Instance): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(i.tags)) {
    out[`aws:ResourceTag/${k}`] = v;
    out[`ec2:ResourceTag/${k}`] = v;
  }
  return out;
}

let signingKey: Promise<KeyObject> | undefined;
/** The key that signs metadata blobs, as AWS's service key signs them (made once per process). */
function blobSigningKey(): Promise<KeyObject> {
  signingKey ??= promisify(generateKeyPair)('rsa', { modulusLength: 2048 }).then((k) => k.privateKey);
  return signingKey;
}

/** One block of the managed-ssh-keys metadata (PROTOCOLS.md §2), with its RSA-PSS signature line. */
export async function metadataBlock(k: PushedKey): Promise<string> {
  const signed = `#Timestamp=${k.expiresAt}\n#Instance=${k.instanceId}\n#Caller=${k.caller}\n#Request=${k.requestId}\n${k.publicKey}\n`;
  const sig = sign('sha256', Buffer.from(signed), { key: await blobSigningKey(), padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return signed + sig.toString('base64') + '\n';
}

/** An instance's active keys for one OS user as the metadata service serves them (blocks separated by blank lines). */
export async function activeKeysBlob(w: World, instanceId: string, osUser: string): Promise<string> {
  return (await Promise.all(w.activeKeys(instanceId, osUser).map(metadataBlock))).join('\n');
}

export const EIC_TARGET = 'AWSEC2InstanceConnectService';

/** SendSSHPublicKey / SendSerialConsoleSSHPublicKey. */
export async function handleInstanceConnect(w: World, operation: string, call: JsonCall): Promise<Record<string, unknown>> {
  const input = call.input;
  if (operation === 'SendSSHPublicKey') {
    validate(input, ['InstanceId', 'InstanceOSUser', 'SSHPublicKey'], ['InstanceId', 'InstanceOSUser', 'SSHPublicKey', 'AvailabilityZone']);
    const id = input.InstanceId as string;
    const user = input.InstanceOSUser as string;
    const existing = w.instances.get(id);
    authorizeEic(w, call, 'SendSSHPublicKey', instanceArn(call.region, id), { 'ec2:osuser': user, ...(existing ? tagContext(existing) : {}) });
    const key = checkPublicKey(input.SSHPublicKey as string);
    const i = liveInstance(w, call.region, id, input.AvailabilityZone);
    const now = Date.now();
    const pushed: PushedKey = {
      instanceId: i.id,
      osUser: user,
      publicKey: key.line,
      expiresAt: Math.floor(now / 1000) + w.options.keyTtlSeconds,
      visibleAt: now + w.faults.keyPropagationDelayMs,
      caller: call.identity.arn,
      requestId: call.requestId,
    };
    const slot = `${i.id}/${user}`;
    // Expired keys are forgotten; a fresh push sits beside the still-valid ones, as on the instance.
    w.keys.set(slot, [...(w.keys.get(slot) ?? []).filter((k) => k.expiresAt * 1000 > now - 60_000), pushed]);
    // The instance sees the key (unless propagation is slow) by the time the push is answered.
    await w.onKeyPushed?.(pushed);
    return { RequestId: call.requestId, Success: true };
  }
  if (operation === 'SendSerialConsoleSSHPublicKey') {
    validate(input, ['InstanceId', 'SSHPublicKey'], ['InstanceId', 'SSHPublicKey']);
    if (input.SerialPort !== undefined && input.SerialPort !== 0) throw new ApiError('ValidationException', `1 validation error detected: Value '${String(input.SerialPort)}' at 'serialPort' failed to satisfy constraint: Member must have value less than or equal to 0`, 400);
    const id = input.InstanceId as string;
    const existing = w.instances.get(id);
    authorizeEic(w, call, 'SendSerialConsoleSSHPublicKey', instanceArn(call.region, id), existing ? tagContext(existing) : {});
    checkPublicKey(input.SSHPublicKey as string);
    if (!w.serialConsoleAccess) throw new ApiError('SerialConsoleAccessDisabledException', 'Your account is not authorized to use the EC2 Serial Console. To authorize your account, enable serial console access.', 403);
    const i = liveInstance(w, call.region, id, undefined);
    if (/^(t2|m4|c4|r4|x1|d2|i3)\./.test(i.instanceType)) throw new ApiError('EC2InstanceTypeInvalidException', `The instance type ${i.instanceType} is not supported. The EC2 Serial Console is only available on instances built on the Nitro System.`, 400);
    return { RequestId: call.requestId, Success: true };
  }
  throw new ApiError('UnknownOperationException', `Unknown operation ${operation}`, 400);
}
