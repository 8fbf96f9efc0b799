import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { z } from 'zod';
import { ERROR_CODES, MAX_MESSAGE_BYTES, keylessErrorSchema, notifications, requests, type Outcome, type ServerFrame } from '../../../electron/contract';
import { createBackend, type Backend } from '../../../electron/main/backend';
import { silentLogger } from '../../../electron/main/base/log';
import { ContractServer } from '../../../electron/main/rpc/contract-server';
import { connectInMemory } from '../../support/memory-transport';
import { startHarness, type Harness } from '../../../electron/main/web/harness-server';

/**
 * Every channel of the contract, called the way a hostile renderer would: wrong types, oversized
 * strings, control characters, `__proto__` keys, negative and huge numbers, over both transports.
 * The variants are made by walking each channel's schema, so a new channel or field is covered
 * without touching this file. What must hold: every answer is an outcome; a refusal is a typed
 * error with a code from the closed list; arguments the schema refuses get InvalidArguments (or
 * PayloadTooLarge, by size), never a handler; arguments it accepts never end in Internal (an
 * untyped throw); nothing is polluted; and the same connection serves a normal call afterwards.
 */

type Json = Record<string, unknown>;
/** A variant: the arguments as the JSON text a client sends (so `__proto__` keys and 1e400 survive). */
interface Variant {
  what: string;
  text: string;
}

/** JSON text of a value, with Raw pieces written as they are. */
class Raw {
  constructor(readonly text: string) {}
}
function toText(v: unknown): string {
  if (v instanceof Raw) return v.text;
  if (Array.isArray(v)) return `[${v.map(toText).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${toText(x)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** A plain object with an own `__proto__` key, as JSON.parse makes from a renderer's message. */
const withProto = (base: Json) => ({ ...base, ['__proto__']: new Raw('{"polluted":"yes","isAdmin":true}') });

const CONTROL = ['a\u0000b', '\u001b[201~\u0003', 'line\r\nnext', '\u0085\u2028\u2029', 'x\u202etxt.exe', '\u0007\u0008\u007f', '[profile pwn]\ncredential_process = id'];
const TRICKY = ['', ' ', '../../../../etc/passwd', '/dev/zero', '$(id)', '`id`', '${HOME}', '%s%n', '\ud800', '*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(10_000)];
const NUMBERS: unknown[] = [-1, 0, -(2 ** 31), 2 ** 31, 65_536, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, new Raw('1e400'), new Raw('-1e400')];

type JsonSchema = {
  type?: string | string[];
  const?: unknown;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  additionalProperties?: boolean | JsonSchema;
  $ref?: string;
};

/** The schema as JSON Schema (what a caller may send: defaults make fields optional). */
const jsonSchema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' }) as JsonSchema & { $defs?: Record<string, JsonSchema> };

const STRING_GUESSES = [
  'a', 'p1', 's1', 'f1', 'default', 'us-east-1', 'i-0123456789abcdef0', 'subnet-0123456789abcdef0', 'sg-0123456789abcdef0', 'vpc-0123456789abcdef0',
  'eice-0123456789abcdef0', 'x.cast', 'https://x.awsapps.com/start', '127.0.0.1', 'ec2-user', 'arn:aws:sns:us-east-1:123456789012:alarms', 'keyless-trail-bucket',
  '123456789012', 'key', 'a1', 'abc-1',
  // Files: a browser, a transfer, a pick, and a remote path's bytes in base64 ("/tmp").
  'b1', 'x1', 'l1', 'L3RtcA==',
  // Fleet: a run, a host of a run.
  'r1', 'h:a1',
  // The doctor: one address, the only CIDR a fix may open 22 to.
  '203.0.113.5/32',
  // Files to many hosts: an upload, a local path (absolute; nothing there).
  'u1', '/nonexistent/keyless-walk',
];
const NUMBER_GUESSES = [22, 1, 2, 10, 100, 0, 1000, 3600];

/** A value the schema accepts, as far as JSON Schema says (refinements aside); undefined when none is found. */
function sample(s: JsonSchema, root: JsonSchema & { $defs?: Record<string, JsonSchema> }, depth = 0): unknown {
  if (depth > 12) return undefined;
  if (s.$ref) return sample(s.$ref === '#' ? root : (root.$defs?.[s.$ref.replace('#/$defs/', '')] ?? {}), root, depth + 1);
  if ('const' in s) return s.const;
  if (s.enum) return s.enum[0];
  const options = s.anyOf ?? s.oneOf;
  if (options) return options.map((o) => sample(o, root, depth + 1)).find((v) => v !== undefined && v !== null) ?? null;
  if (s.allOf?.length) return sample(s.allOf[0]!, root, depth + 1);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, p]) => [k, sample(p, root, depth + 1)]).filter(([, v]) => v !== undefined));
    case 'array': {
      const item = sample(s.items ?? {}, root, depth + 1);
      return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => item);
    }
    case 'string':
      return STRING_GUESSES.find(
        (g) => g.length >= (s.minLength ?? 0) && g.length <= (s.maxLength ?? Infinity) && (!s.pattern || new RegExp(s.pattern, 'u').test(g)),
      );
    case 'integer':
    case 'number':
      return NUMBER_GUESSES.find(
        (n) => n >= (s.minimum ?? -Infinity) && n <= (s.maximum ?? Infinity) && n > (s.exclusiveMinimum ?? -Infinity) && n < (s.exclusiveMaximum ?? Infinity),
      );
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return 'a';
  }
}

/** Hostile replacements for one node of the arguments, the node's own sample value being `value`. */
function hostile(s: JsonSchema, value: unknown, root: JsonSchema & { $defs?: Record<string, JsonSchema> }, where: string, depth = 0): Array<{ what: string; value: unknown }> {
  if (depth > 8) return [];
  if (s.$ref) return hostile(s.$ref === '#' ? root : (root.$defs?.[s.$ref.replace('#/$defs/', '')] ?? {}), value, root, where, depth + 1);
  const out: Array<{ what: string; value: unknown }> = [{ what: `${where} = null`, value: null }];
  const options = s.anyOf ?? s.oneOf;
  if (options) {
    // Each branch of a union, from its own sample (an EC2 host as well as an SSH host).
    options.forEach((o, k) => out.push(...hostile(o, sample(o, root) ?? value, root, `${where}|${k}`, depth + 1)));
    return out;
  }
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  const wrongTypes: unknown[] = type === 'string' ? [42, true, [], {}] : type === 'number' || type === 'integer' ? ['1', true, [], {}] : type === 'boolean' ? ['true', 1, {}] : type === 'array' ? ['x', {}, 1] : type === 'object' ? ['x', [], 1, true] : [[], {}];
  for (const w of wrongTypes) out.push({ what: `${where} = ${toText(w)}`, value: w });
  if (type === 'string' || s.enum || 'const' in s) {
    const base = typeof value === 'string' ? value : 'a';
    for (const c of CONTROL) out.push({ what: `${where} with control characters ${JSON.stringify(c)}`, value: base + c });
    for (const t of TRICKY) out.push({ what: `${where} = ${JSON.stringify(t.slice(0, 30))}`, value: t });
    out.push({ what: `${where} longer than its limit`, value: 'x'.repeat(s.maxLength !== undefined ? s.maxLength + 1 : 70_000) });
  }
  if (type === 'number' || type === 'integer') for (const n of NUMBERS) out.push({ what: `${where} = ${toText(n)}`, value: n });
  if (type === 'array') {
    out.push({ what: `${where} empty`, value: [] });
    out.push({ what: `${where} with ${(s.maxItems ?? 10_000) + 1} items`, value: Array.from({ length: Math.min((s.maxItems ?? 10_000) + 1, 20_000) }, () => (Array.isArray(value) ? value[0] : 'a')) });
    const item = Array.isArray(value) ? value[0] : undefined;
    for (const v of hostile(s.items ?? {}, item, root, `${where}[0]`, depth + 1)) out.push({ what: v.what, value: [v.value] });
  }
  if (type === 'object') {
    const obj = value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : {};
    out.push({ what: `${where} with a __proto__ key`, value: withProto(obj) });
    out.push({ what: `${where} with constructor.prototype`, value: { ...obj, constructor: { prototype: { polluted: 'yes' } } } });
    out.push({ what: `${where} with an unknown key`, value: { ...obj, unexpected: 1 } });
    for (const [k, p] of Object.entries(s.properties ?? {})) {
      if ((s.required ?? []).includes(k)) out.push({ what: `${where}.${k} missing`, value: Object.fromEntries(Object.entries(obj).filter(([x]) => x !== k)) });
      for (const v of hostile(p, obj[k], root, `${where}.${k}`, depth + 1)) out.push({ what: v.what, value: { ...obj, [k]: v.value } });
    }
  }
  return out;
}

/**
 * The sample made to pass what JSON Schema cannot say (refinements: an https URL, a host id or a
 * target but not both): at the first issue, whichever change leaves the fewest issues: another
 * guess for a string there, or the object there without one of its fields. Gives up after a few
 * tries; the variants go out either way.
 */
function repaired(schema: z.ZodType, first: unknown): unknown {
  let value = structuredClone(first);
  const tried = new Set<string>();
  for (let step = 0; step < 40; step++) {
    const result = schema.safeParse(value);
    if (result.success) return value;
    tried.add(JSON.stringify(value));
    const path = result.error.issues[0]?.path ?? [];
    const candidates: unknown[] = [];
    const at = path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k as PropertyKey], value);
    if (typeof at === 'string' || at === undefined) for (const g of STRING_GUESSES.slice(STRING_GUESSES.indexOf(at as string) + 1)) candidates.push(g);
    // An object-level refinement: the object without one of its fields (the issue may name a field it no longer has).
    for (let depth = path.length; depth >= 0; depth--) {
      const holder = path.slice(0, depth).reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)?.[k as PropertyKey], value);
      if (holder && typeof holder === 'object' && !Array.isArray(holder)) {
        for (const k of Object.keys(holder)) candidates.push({ drop: path.slice(0, depth), key: k });
        break;
      }
    }
    const next = candidates
      .map((c) => {
        const copy = structuredClone(value) as Json;
        if (c && typeof c === 'object' && 'drop' in c) {
          const { drop, key } = c as { drop: PropertyKey[]; key: string };
          delete (drop.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)[k], copy) as Json)[key];
        } else {
          const parent = path.slice(0, -1).reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown>)[k as PropertyKey], copy) as Record<PropertyKey, unknown>;
          parent[path[path.length - 1] as PropertyKey] = c;
        }
        return copy;
      })
      .filter((c) => !tried.has(JSON.stringify(c)))
      // The change that leaves the fewest issues.
      .map((c) => ({ c, issues: schema.safeParse(c).error?.issues.length ?? 0 }))
      .sort((a, b) => a.issues - b.issues)[0]?.c;
    if (next === undefined) return first;
    value = next;
  }
  return first;
}

/** Every hostile call for one schema: the whole arguments wrong, then each field in turn. */
function variantsOf(schema: z.ZodType): { base: unknown; variants: Variant[] } {
  const root = jsonSchema(schema);
  const base = repaired(schema, sample(root, root));
  const list: Array<{ what: string; value: unknown }> = [
    { what: 'the sample itself', value: base },
    { what: 'no arguments', value: new Raw('null') },
    { what: 'arguments a string', value: 'x' },
    { what: 'arguments a negative number', value: -1 },
    { what: 'arguments an array', value: [] },
    { what: 'arguments nested 1,000 arrays deep', value: new Raw('['.repeat(1000) + ']'.repeat(1000)) },
    { what: 'arguments over the message limit', value: { pad: 'x'.repeat(MAX_MESSAGE_BYTES + 16) } },
    ...hostile(root, base, root, 'args'),
  ];
  const seen = new Set<string>();
  const variants: Variant[] = [];
  for (const v of list) {
    const text = toText(v.value);
    if (seen.has(text)) continue;
    seen.add(text);
    variants.push({ what: v.what, text });
  }
  return { base, variants };
}

/** What one transport needs: a call that resolves with the outcome (and the frame's size), and a notify. */
interface Client {
  call(channel: string, argsText: string): Promise<{ outcome: Outcome<unknown>; bytes: number; seen: unknown }>;
  notify(channel: string, argsText: string): void;
  close(): Promise<void>;
}

function memoryClient(server: ContractServer): Client {
  const { bridge, peer } = connectInMemory(server, 'hostile');
  bridge.on('prompt', (p) => void bridge.invoke('prompt.answer', { promptId: (p as { promptId: string }).promptId, value: null }));
  return {
    async call(channel, argsText) {
      // The in-memory bridge sends what JSON.stringify makes of the value (1e400 arrives as null).
      const args: unknown = JSON.parse(argsText);
      const bytes = Buffer.byteLength(JSON.stringify({ t: 'call', id: 1, ch: channel, args }));
      return { outcome: await bridge.invoke(channel, args), bytes, seen: JSON.parse(JSON.stringify(args) ?? 'null') };
    },
    notify: (channel, argsText) => bridge.notify(channel, JSON.parse(argsText)),
    close: async () => peer.dispose(),
  };
}

async function webSocketClient(harness: Harness): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${harness.port}/rpc?token=${encodeURIComponent(harness.token)}`, { headers: { Origin: `http://127.0.0.1:${harness.port}` } });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let nextId = 1;
  const waiting = new Map<number, (o: Outcome<unknown>) => void>();
  ws.on('message', (raw, isBinary) => {
    if (isBinary) return;
    const frame = JSON.parse(raw.toString()) as ServerFrame;
    if (frame.t === 'result') waiting.get(frame.id)?.(frame.outcome);
    else if (frame.ev === 'prompt') ws.send(JSON.stringify({ t: 'call', id: nextId++, ch: 'prompt.answer', args: { promptId: (frame.payload as { promptId: string }).promptId, value: null } }));
  });
  return {
    call(channel, argsText) {
      const id = nextId++;
      // The frame as text, the arguments spliced in as they are: what a hostile page can send.
      const text = `{"t":"call","id":${id},"ch":${JSON.stringify(channel)},"args":${argsText}}`;
      return new Promise((resolve) => {
        waiting.set(id, (outcome) => {
          waiting.delete(id);
          resolve({ outcome, bytes: Buffer.byteLength(text), seen: JSON.parse(argsText) });
        });
        ws.send(text);
      });
    },
    notify: (channel, argsText) => ws.send(`{"t":"notify","ch":${JSON.stringify(channel)},"args":${argsText}}`),
    close: async () => {
      const open = ws.readyState === WebSocket.OPEN;
      ws.close();
      if (!open) throw new Error(`the harness closed the WebSocket (state ${ws.readyState})`);
    },
  };
}

/** Resolves with the promise's value, or rejects naming what did not answer in time. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

const CHANNELS = Object.keys(requests).filter((c) => c !== 'op.cancel') as Array<keyof typeof requests>;
const codes = new Set<string>(ERROR_CODES);
const prototypeKeys = () => Object.getOwnPropertyNames(Object.prototype).sort().join(',');

let dir: string;
const savedEnv = { ...process.env };
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keyless-hostile-'));
  await mkdir(join(dir, 'static'), { recursive: true });
  await writeFile(join(dir, 'static', 'index.html'), '<!doctype html><title>Keyless</title>');
  // Whatever a call manages to reach stays in this folder and on this machine: no ~/.aws, ~/.ssh
  // or agent of the person running the tests, and every AWS endpoint a closed loopback port.
  for (const k of Object.keys(process.env)) if (k.startsWith('AWS_') || k === 'SSH_AUTH_SOCK') delete process.env[k];
  Object.assign(process.env, {
    HOME: join(dir, 'home'),
    AWS_CONFIG_FILE: join(dir, 'aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'aws-credentials'),
    AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
});
afterAll(async () => {
  process.env = savedEnv;
  await rm(dir, { recursive: true, force: true });
});

describe.each(['in-memory transport', 'browser harness WebSocket'] as const)('hostile calls over the %s', (transport) => {
  /** A fresh backend per channel, so one channel's accepted calls never set up another's. */
  async function serve(name: string): Promise<{ client: Client; stop(): Promise<void> }> {
    const backend: Backend = await createBackend({ home: join(dir, transport === 'in-memory transport' ? 'memory' : 'web', name), transport: 'web', version: '0.0.1', systemLocale: 'en', log: silentLogger, userKnownHosts: [], inventoryRefreshMs: 0 });
    const server = new ContractServer(backend.handlers, silentLogger);
    if (transport === 'in-memory transport') {
      const client = memoryClient(server);
      return { client, stop: () => backend.close() };
    }
    const harness = await startHarness({ server, staticDir: join(dir, 'static'), log: silentLogger });
    const client = await webSocketClient(harness);
    return {
      client,
      stop: async () => {
        await harness.close();
        await backend.close();
      },
    };
  }

  it.each(CHANNELS)('%s', async (channel) => {
    const schema = requests[channel].args as z.ZodType;
    const { variants } = variantsOf(schema);
    const before = prototypeKeys();
    const { client, stop } = await serve(channel);
    const wrong: string[] = [];
    let reachedHandler = 0;
    try {
      for (const v of variants) {
        const { outcome, bytes, seen } = await within(client.call(channel, v.text), 30_000, `${channel} ${v.what}`);
        const accepted = schema.safeParse(seen).success;
        if (accepted && bytes <= MAX_MESSAGE_BYTES) reachedHandler++;
        if (outcome.ok) {
          if (!accepted || bytes > MAX_MESSAGE_BYTES) wrong.push(`${v.what}: answered ok to arguments the contract refuses`);
          else if (!requests[channel].result.safeParse(outcome.value).success) wrong.push(`${v.what}: a result outside the contract`);
          continue;
        }
        const error = outcome.error;
        if (!keylessErrorSchema.safeParse(error).success || !codes.has(error.code)) wrong.push(`${v.what}: an untyped error ${JSON.stringify(error).slice(0, 200)}`);
        else if (bytes > MAX_MESSAGE_BYTES) {
          if (error.code !== 'PayloadTooLarge') wrong.push(`${v.what}: ${error.code}, not PayloadTooLarge`);
        } else if (!accepted) {
          if (error.code !== 'InvalidArguments') wrong.push(`${v.what}: ${error.code}, not InvalidArguments`);
        } else if (error.code === 'Internal') wrong.push(`${v.what}: Internal (${error.message.slice(0, 200)})`);
      }
      expect(wrong.length, `${channel}: ${wrong.length} of ${variants.length} hostile calls answered wrongly:\n${wrong.slice(0, 30).join('\n')}`).toBe(0);
      if (process.env.KEYLESS_HOSTILE_STATS) console.log(`${transport} ${channel}: ${variants.length} calls, ${reachedHandler} reached the handler`);
      expect(prototypeKeys()).toBe(before);
      expect(({} as Json).polluted).toBeUndefined();
      // The same connection still serves a normal call.
      expect((await within(client.call('app.info', '{}'), 10_000, 'app.info after the hostile calls')).outcome).toMatchObject({ ok: true, value: { version: '0.0.1' } });
      await client.close();
    } finally {
      await stop();
    }
  });

  it.each(Object.keys(notifications) as Array<keyof typeof notifications>)('notification %s', async (channel) => {
    const { variants } = variantsOf(notifications[channel] as z.ZodType);
    const { client, stop } = await serve(`notify-${channel}`);
    try {
      for (const v of variants) client.notify(channel, v.text);
      expect((await within(client.call('app.info', '{}'), 10_000, 'app.info after the hostile notifications')).outcome).toMatchObject({ ok: true });
      expect(({} as Json).polluted).toBeUndefined();
      await client.close();
    } finally {
      await stop();
    }
  });

  it('the walk reaches the handlers: most channels have a sample their schema accepts', () => {
    const without = CHANNELS.filter((c) => !(requests[c].args as z.ZodType).safeParse(variantsOf(requests[c].args as z.ZodType).base).success);
    // A channel listed here is still called with every variant, but only its parser is exercised.
    expect(without, 'channels for which no sample passed their schema (their handlers are never reached)').toEqual([]);
  });
});
