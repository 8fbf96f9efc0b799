import { z } from 'zod';
import {
  MAX_RECENTS,
  groupChain,
  hostEntrySchema,
  hostGroupSchema,
  plainSshHostSchema,
  recentSchema,
  smartGroupSchema,
  type HostEntry,
  type HostGroup,
  type Recent,
  type SmartGroup,
} from '../../contract';

/**
 * hosts.json, version by version. Version 1 (the first release) held plain SSH hosts only;
 * version 2 adds groups with inherited settings, EC2 hosts, tags, notes, favourites and recents.
 * Every older version migrates forward when read; a newer one is refused, never overwritten.
 */
export const CURRENT_VERSION = 2;

export const hostsFileV1Schema = z.object({ version: z.literal(1), hosts: z.array(plainSshHostSchema) });
export type HostsFileV1 = z.infer<typeof hostsFileV1Schema>;

export const hostsFileV2Schema = z
  .object({
    version: z.literal(2),
    groups: z.array(hostGroupSchema).default([]),
    hosts: z.array(hostEntrySchema).default([]),
    recents: z.array(recentSchema).max(MAX_RECENTS).default([]),
    smartGroups: z.array(smartGroupSchema).default([]),
  })
  .superRefine((doc, ctx) => {
    const groupIds = new Set<string>();
    doc.groups.forEach((g, i) => {
      if (groupIds.has(g.id)) ctx.addIssue({ code: 'custom', path: ['groups', i, 'id'], message: `the group id ${g.id} is used twice` });
      groupIds.add(g.id);
    });
    doc.groups.forEach((g, i) => {
      if (g.parentId !== null && !groupIds.has(g.parentId)) {
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'parentId'], message: `there is no group with the id ${g.parentId}` });
      } else if (g.parentId !== null && groupChain(g.parentId, doc.groups).some((p) => p.id === g.id)) {
        ctx.addIssue({ code: 'custom', path: ['groups', i, 'parentId'], message: `the group ${g.name} is nested inside itself` });
      }
    });
    const smartIds = new Set<string>();
    doc.smartGroups.forEach((g, i) => {
      if (smartIds.has(g.id)) ctx.addIssue({ code: 'custom', path: ['smartGroups', i, 'id'], message: `the smart group id ${g.id} is used twice` });
      smartIds.add(g.id);
    });
    const hostIds = new Set<string>();
    doc.hosts.forEach((h, i) => {
      if (hostIds.has(h.id)) ctx.addIssue({ code: 'custom', path: ['hosts', i, 'id'], message: `the host id ${h.id} is used twice` });
      hostIds.add(h.id);
      if (h.groupId !== null && !groupIds.has(h.groupId)) {
        ctx.addIssue({ code: 'custom', path: ['hosts', i, 'groupId'], message: `there is no group with the id ${h.groupId}` });
      }
    });
  });
export type HostsFile = { version: 2; groups: HostGroup[]; hosts: HostEntry[]; recents: Recent[]; smartGroups: SmartGroup[] };

export const emptyHostsFile = (): HostsFile => ({ version: 2, groups: [], hosts: [], recents: [], smartGroups: [] });

/** A reason a document is refused, with the path of the field it is about. */
export class DocumentProblem extends Error {
  constructor(
    /** The field's path as data: hosts.3.port */
    readonly field: string,
    message: string,
    /** The field as a person finds it in the file: hosts[3] ("web-1").port */
    readonly where: string = field,
  ) {
    super(message);
  }
}

/** Names a field the way a person finds it in the file: hosts[3] ("web-1").port */
function describePath(path: readonly PropertyKey[], json: unknown): string {
  let out = '';
  let node: unknown = json;
  for (const key of path) {
    if (typeof key === 'number') {
      out += `[${key}]`;
      node = Array.isArray(node) ? node[key] : undefined;
      const name = node && typeof node === 'object' ? (node as { name?: unknown }).name : undefined;
      if (typeof name === 'string' && name.length <= 80) out += ` ("${name}")`;
    } else {
      out += (out ? '.' : '') + String(key);
      node = node && typeof node === 'object' ? (node as Record<string, unknown>)[String(key)] : undefined;
    }
  }
  return out || '(top level)';
}

function parseWith<S extends z.ZodType>(schema: S, json: unknown): z.output<S> {
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue?.path ?? [];
  throw new DocumentProblem(path.map(String).join('.') || '(top level)', issue?.message ?? 'invalid', describePath(path, json));
}

export function migrateV1(doc: HostsFileV1): HostsFile {
  return parseWith(hostsFileV2Schema, {
    version: 2,
    groups: [],
    hosts: doc.hosts.map((h) => ({ ...h, groupId: null, tags: [], notes: '', favourite: false })),
    recents: [],
    smartGroups: [],
  }) as HostsFile;
}

/** Any version of hosts.json, parsed and migrated to the current one. */
export function decodeHostsFile(json: unknown): HostsFile {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new DocumentProblem('(top level)', 'expected an object with a version number');
  }
  const version = (json as { version?: unknown }).version;
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new DocumentProblem('version', `expected a version number, found ${JSON.stringify(version) ?? 'nothing'}`);
  }
  if (version > CURRENT_VERSION) {
    throw new DocumentProblem(
      'version',
      `version ${version} was written by a newer Keyless; this one reads versions 1 to ${CURRENT_VERSION}. Update Keyless or restore a backup`,
    );
  }
  if (version === 1) return migrateV1(parseWith(hostsFileV1Schema, json));
  return parseWith(hostsFileV2Schema, json) as HostsFile;
}
