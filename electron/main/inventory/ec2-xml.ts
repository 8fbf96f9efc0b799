import type { AwsEc2QueryProtocol, XmlShapeDeserializer } from '@aws-sdk/core/protocols';
import { sdk } from '../aws/sdk';

/**
 * EC2 answers in XML, and at ten thousand instances (3–8 KB of XML each) reading it is most of
 * an inventory refresh's CPU. The SDK's own reader (`@aws-sdk/xml-builder`'s `parseXML`) builds
 * every tag name and text one character at a time; this one slices them with `indexOf` and
 * produces the same objects (tests/unit/inventory/ec2-xml.test.ts compares the two on EC2
 * responses and on the XML corner cases: entities, CDATA, comments, attributes, mixed text), in
 * about half the time. A projection goes further: the elements a caller does not read are skipped
 * unread (for the inventory's rows, most of a DescribeInstances page). The SDK still does
 * everything else: it maps the objects onto its schema; errors and retries are unchanged.
 *
 * `await fastEc2Protocol(projection?)` plugs it into an EC2Client (`protocol: …`). No XML library
 * on npm was faster than the SDK's reader on EC2 pages (fast-xml-parser ~3×, txml ~1.4× slower).
 */

const ENTITY = /&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|([a-zA-Z][a-zA-Z0-9]{0,30}));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * The character a reference names. The SDK's reader uses `fromCharCode`, which cuts `&#x1F680;`
 * (🚀) to U+F680; this one takes every code point, and one XML does not allow in a document (NUL,
 * a lone surrogate, past U+10FFFF) becomes U+FFFD rather than a broken string or an exception.
 */
function fromReference(code: number): string {
  const allowed = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
  return String.fromCodePoint(allowed ? code : 0xfffd);
}

/** Character references and the five named entities, as the SDK decodes them (an unknown name decodes to nothing). */
function decode(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(ENTITY, (_m, hex?: string, dec?: string, named?: string) =>
    hex ? fromReference(parseInt(hex, 16)) : dec ? fromReference(parseInt(dec, 10)) : (NAMED[named!] ?? ''),
  );
}

type XmlValue = string | XmlObject | XmlValue[];
interface XmlObject {
  [key: string]: XmlValue;
}

/** `obj[key] = value`, and a key named `__proto__` stays an ordinary property (as the SDK's `writeKey` does). */
function put(obj: XmlObject, key: string, value: XmlValue): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
  else obj[key] = value;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
/** Whitespace with a line break between elements is layout, not text (the SDK's rule). */
const isLayout = (t: string) => t.trim() === '' && t.includes('\n');

/**
 * Per response root tag (e.g. `DescribeInstancesResponse`), the element names worth reading;
 * any other element is skipped with everything inside it, so the SDK never sees it. Error
 * responses (root `Response`) are never projected.
 */
export type XmlProjection = ReadonlyMap<string, ReadonlySet<string>>;

/** Where the tag name starting at `i` ends: at whitespace, `>` or `/` (the SDK's rule), or at `z`. */
function tagNameEnd(x: string, i: number, z: number): number {
  for (; i < z; i++) {
    const c = x.charCodeAt(i);
    if (c === 62 || c === 47 || c === 32 || c === 10 || c === 9 || c === 13) break;
  }
  return i;
}

class Reader {
  private i = 0;
  private readonly z: number;
  private keep: ReadonlySet<string> | undefined;
  constructor(
    private readonly x: string,
    private readonly projection?: XmlProjection,
  ) {
    this.z = x.length;
  }

  fail(what: string): never {
    throw new Error(`@aws-sdk XML parse error: ${what}.`);
  }

  private skipSpace(): void {
    while (this.i < this.z && isSpace(this.x.charCodeAt(this.i))) this.i++;
  }

  private skipTo(stop: string): number {
    const at = this.x.indexOf(stop, this.i);
    if (at < 0) this.fail(`expected "${stop}" not found`);
    this.i = at + stop.length;
    return at;
  }

  /** The document: a prolog (declaration, comments, doctype) and one root element. */
  document(): Record<string, XmlValue> {
    const { x } = this;
    while (this.i < this.z) {
      this.skipSpace();
      if (this.i >= this.z) break;
      if (x.startsWith('<?', this.i)) this.skipTo('?>');
      else if (x.startsWith('<!--', this.i)) this.skipTo('-->');
      else if (x.slice(this.i, this.i + 9).toLowerCase() === '<!doctype') this.skipDoctype();
      else if (x.charCodeAt(this.i) === 60) {
        const [tag, value] = this.element(true);
        const root: Record<string, XmlValue> = {};
        put(root, tag, value!);
        return root;
      } else this.fail('unexpected content');
    }
    return this.fail('no root element');
  }

  private skipDoctype(): void {
    this.i += 9;
    let depth = 0;
    while (this.i < this.z) {
      const c = this.x[this.i++];
      if (c === '[') depth++;
      else if (c === ']') depth--;
      else if (c === '>' && depth === 0) return;
    }
    this.fail('unclosed DOCTYPE');
  }

  private name(stops: string): string {
    const from = this.i;
    while (this.i < this.z && !stops.includes(this.x[this.i]!)) this.i++;
    return this.x.slice(from, this.i);
  }

  /** A tag name: up to whitespace, `>` or `/` (the SDK's rule). */
  private tagName(): string {
    const from = this.i;
    this.i = tagNameEnd(this.x, from, this.z);
    return this.x.slice(from, this.i);
  }

  /** Past the end of an element the projection leaves out (the reader just after its name), nested namesakes included. */
  private skipElement(tag: string): void {
    const { x } = this;
    const gt = x.indexOf('>', this.i);
    if (gt < 0) this.fail('unexpected end of input');
    if (x.charCodeAt(gt - 1) === 47) {
      this.i = gt + 1;
      return;
    }
    const open = `<${tag}`;
    const close = `</${tag}>`;
    let depth = 1;
    let at = gt + 1;
    while (depth > 0) {
      const c = x.indexOf(close, at);
      if (c < 0) this.fail(`missing closing tag </${tag}>`);
      // Namesakes opened before this close (not self-closed) nest one deeper; looked for only in between.
      const between = x.slice(at, c);
      for (let o = between.indexOf(open); o >= 0; o = between.indexOf(open, o + open.length)) {
        const after = between.charCodeAt(o + open.length);
        if (after === 62 || after === 32 || after === 10 || after === 9 || after === 13) {
          const end = between.indexOf('>', o);
          if (between.charCodeAt(end - 1) !== 47) depth++;
        }
      }
      depth--;
      at = c + close.length;
    }
    this.i = at;
  }

  /** One element, the reader at its `<`: its tag and value (text, '' or an object of children and attributes). */
  private element(root = false): [string, XmlValue | undefined] {
    const { x } = this;
    this.i++;
    const tag = this.tagName();
    if (root) this.keep = this.projection?.get(tag);
    else if (this.keep && !this.keep.has(tag)) {
      this.skipElement(tag);
      return [tag, undefined];
    }
    let attrs: XmlObject | undefined;
    while (this.i < this.z) {
      this.skipSpace();
      const c = x[this.i];
      if (c === '>' || c === '/') break;
      const name = this.name('= \t\r\n>/?');
      this.skipSpace();
      if (x[this.i] !== '=') break;
      this.i++;
      this.skipSpace();
      const quote = x[this.i]!;
      const end = x.indexOf(quote, this.i + 1);
      const raw = x.slice(this.i + 1, end < 0 ? this.z : end);
      this.i = end < 0 ? this.z : end + 1;
      put((attrs ??= {}), name, decode(raw));
    }
    if (this.i >= this.z) this.fail('unexpected end of input');
    if (x[this.i] === '/') {
      if (x[++this.i] !== '>') this.fail('expected > at the end of self-closing tag');
      this.i++;
      return [tag, attrs ?? ''];
    }
    if (x[this.i] !== '>') this.fail('expected > at the end of opening tag');
    this.i++;

    let texts: string[] | undefined;
    let obj: XmlObject | undefined;
    for (;;) {
      const lt = x.indexOf('<', this.i);
      if (lt < 0) this.fail(`missing closing tag </${tag}>`);
      if (lt > this.i) (texts ??= []).push(decode(x.slice(this.i, lt)));
      this.i = lt;
      const next = x.charCodeAt(lt + 1);
      if (next === 47 /* / */) break;
      if (next === 33 /* ! */ && x.startsWith('<!--', lt)) {
        this.skipTo('-->');
        continue;
      }
      if (next === 33 && x.startsWith('<![CDATA[', lt)) {
        this.i += 9;
        const at = this.skipTo(']]>');
        (texts ??= []).push(x.slice(lt + 9, at));
        continue;
      }
      if (next === 63 /* ? */) {
        this.skipTo('?>');
        continue;
      }
      const [childTag, childValue] = this.element();
      if (childValue === undefined) continue;
      obj ??= {};
      // Repeated children in document order: the first alone, then an array (as the SDK does).
      const prev = Object.prototype.hasOwnProperty.call(obj, childTag) ? obj[childTag] : undefined;
      if (prev === undefined) put(obj, childTag, childValue);
      else if (Array.isArray(prev)) prev.push(childValue);
      else put(obj, childTag, [prev, childValue]);
    }
    const closeFrom = this.i + 2;
    const closeAt = this.skipTo('>');
    const closeTag = x.slice(closeFrom, closeAt).trim();
    if (closeTag !== tag) this.fail(`mismatched tags <${tag}> and </${closeTag}>`);

    if (!attrs && !texts && !obj) return [tag, ''];
    if (!attrs && !obj) {
      const text = texts!.length === 1 ? texts![0]! : texts!.join('');
      return [tag, isLayout(text) ? '' : text];
    }
    obj ??= {};
    for (const t of texts ?? []) {
      if (isLayout(t)) continue;
      obj['#text'] = obj['#text'] === undefined ? t : (obj['#text'] as string) + t;
    }
    // Attributes last: one with a child's name wins, as in the SDK.
    if (attrs) for (const k of Object.keys(attrs)) put(obj, k, attrs[k]!);
    return [tag, obj];
  }
}

/**
 * What to read straight into the SDK's output, by the SDK's member names: `true` for a value,
 * an object for a structure's members or a list's item members. Element names come from the
 * operation's schema (its xmlName traits), so the plan names only what a caller reads.
 */
export interface ReadPlan {
  [member: string]: true | ReadPlan;
}

/** A member of a plan made against the schema: its element name, and how its value is read. */
interface PlannedMember {
  member: string;
  /** A value as the SDK's readSchema makes it from the element's text ('' when empty). */
  scalar?: (text: string) => unknown;
  struct?: PlannedStruct;
  /** A list: its items' element name and how one is read. */
  list?: { itemTag: string; item: PlannedMember };
}
type PlannedStruct = Map<string, PlannedMember>;

/** Anything a plan does not cover (attributes, CDATA, comments, namesakes…): the whole answer is read the general way instead. */
class Unplanned extends Error {}

/**
 * The plan against the output schema. `convert(ns, text)` is the SDK's own reading of a
 * value (its `readSchema`), so strings, numbers, booleans and dates come out as the SDK makes them.
 */
function planAgainst(ns: NormalizedSchema, plan: ReadPlan, convert: (ns: NormalizedSchema, text: string) => unknown): PlannedStruct {
  const out: PlannedStruct = new Map();
  for (const [member, sub] of Object.entries(plan)) {
    const m = ns.getMemberSchema(member);
    if (!m) throw new Error(`the read plan names ${member}, which the schema does not have`);
    const tag = m.getMemberTraits().xmlName ?? member;
    out.set(tag, plannedValue(member, m, sub, convert));
  }
  return out;
}

function plannedValue(member: string, ns: NormalizedSchema, sub: true | ReadPlan, convert: (ns: NormalizedSchema, text: string) => unknown): PlannedMember {
  if (ns.isListSchema()) {
    if (ns.getMergedTraits().xmlFlattened) throw new Error(`the read plan cannot follow the flattened list ${member}`);
    const value = ns.getValueSchema();
    return { member, list: { itemTag: value.getMergedTraits().xmlName ?? 'member', item: plannedValue(member, value, sub, convert) } };
  }
  if (ns.isStructSchema()) {
    if (sub === true) throw new Error(`the read plan must name the members of ${member} it reads`);
    return { member, struct: planAgainst(ns, sub, convert) };
  }
  if (sub !== true) throw new Error(`${member} is a value, not a structure`);
  return { member, scalar: ns.isStringSchema() && !ns.getMergedTraits().mediaType ? (t) => t : (t) => convert(ns, t) };
}

/**
 * A string of its own: V8 makes a slice of 13 characters or more a view into its parent, and a
 * value kept in the inventory would keep its whole page (megabytes of XML) alive with it.
 */
function ownCopy(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}

/** Reads a planned answer in one pass, straight into output objects; `Unplanned` for anything else. */
class PlannedReader {
  private i = 0;
  private readonly z: number;
  constructor(private readonly x: string) {
    this.z = x.length;
  }

  /** The root element's tag, the reader just past its opening tag; undefined when there is none. */
  root(): string | undefined {
    const { x } = this;
    for (;;) {
      const lt = x.indexOf('<', this.i);
      if (lt < 0) return undefined;
      const c = x.charCodeAt(lt + 1);
      if (c === 63 /* ? */ || c === 33 /* ! */) {
        if (!x.startsWith('<?', lt) && !x.startsWith('<!--', lt)) throw new Unplanned();
        const end = x.indexOf(c === 63 ? '?>' : '-->', lt);
        if (end < 0) throw new Unplanned();
        this.i = end + 2;
        continue;
      }
      if (x.slice(this.i, lt).trim()) throw new Unplanned();
      this.i = lt + 1;
      const tag = this.tagName();
      const gt = x.indexOf('>', this.i);
      if (gt < 0 || x.charCodeAt(gt - 1) === 47) throw new Unplanned();
      this.i = gt + 1;
      return tag;
    }
  }

  private tagName(): string {
    const from = this.i;
    this.i = tagNameEnd(this.x, from, this.z);
    return this.x.slice(from, this.i);
  }

  /** The next child's tag, the reader just past `<tag`; undefined at the closing tag of `parent` (then just past it). */
  private nextChild(parent: string): string | undefined {
    const { x } = this;
    const lt = x.indexOf('<', this.i);
    if (lt < 0) throw new Unplanned();
    const c = x.charCodeAt(lt + 1);
    if (c === 47 /* / */) {
      if (!x.startsWith(parent, lt + 2) || x.charCodeAt(lt + 2 + parent.length) !== 62) throw new Unplanned();
      this.i = lt + 3 + parent.length;
      return undefined;
    }
    if (c === 33 || c === 63) throw new Unplanned();
    this.i = lt + 1;
    return this.tagName();
  }

  /** Past an element nobody reads (the reader just past its name), nested namesakes included. */
  private skip(tag: string): void {
    const { x } = this;
    const gt = x.indexOf('>', this.i);
    if (gt < 0) throw new Unplanned();
    if (x.charCodeAt(gt - 1) === 47) {
      this.i = gt + 1;
      return;
    }
    const close = `</${tag}>`;
    const c = x.indexOf(close, gt + 1);
    if (c < 0) throw new Unplanned();
    // A namesake inside would close first: left to the general reader.
    if (x.slice(gt + 1, c).includes(`<${tag}`)) throw new Unplanned();
    this.i = c + close.length;
  }

  /** Just past `<tag`: true for `<tag>` (content follows), false for `<tag/>`; attributes are not planned. */
  private opened(): boolean {
    const { x } = this;
    const c = x.charCodeAt(this.i);
    if (c === 62) {
      this.i++;
      return true;
    }
    if (c === 47 && x.charCodeAt(this.i + 1) === 62) {
      this.i += 2;
      return false;
    }
    throw new Unplanned();
  }

  private text(tag: string): string {
    const { x } = this;
    const lt = x.indexOf('<', this.i);
    if (lt < 0 || x.charCodeAt(lt + 1) !== 47 || !x.startsWith(tag, lt + 2) || x.charCodeAt(lt + 2 + tag.length) !== 62) throw new Unplanned();
    const raw = x.slice(this.i, lt);
    this.i = lt + 3 + tag.length;
    const text = decode(raw);
    return isLayout(text) ? '' : ownCopy(text);
  }

  value(tag: string, m: PlannedMember): unknown {
    const open = this.opened();
    if (m.scalar) return m.scalar(open ? this.text(tag) : '');
    if (m.struct) return open ? this.struct(tag, m.struct) : {};
    const list = m.list!;
    const items: unknown[] = [];
    if (!open) return items;
    for (let child = this.nextChild(tag); child !== undefined; child = this.nextChild(tag)) {
      if (child === list.itemTag) items.push(this.value(child, list.item));
      else this.skip(child);
    }
    return items;
  }

  struct(tag: string, plan: PlannedStruct): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let child = this.nextChild(tag); child !== undefined; child = this.nextChild(tag)) {
      const m = plan.get(child);
      if (!m) {
        this.skip(child);
        continue;
      }
      if (m.member in out) throw new Unplanned();
      out[m.member] = this.value(child, m);
    }
    return out;
  }
}

/** `@aws-sdk/xml-builder`'s `parseXML`, faster: `{ [rootTag]: value }`. */
export function parseAwsXml(xml: string, projection?: XmlProjection): Record<string, XmlValue> {
  return new Reader(xml.includes('\r') ? xml.replace(/\r\n?/g, '\n') : xml, projection).document();
}

/** What the SDK's XML deserializer does after `parseXML`: the root's value, every `{ '#text': t }` below it replaced by `t`. */
export function awsXmlBody(xml: string, projection?: XmlProjection): unknown {
  if (!xml.length) return {};
  const parsed = parseAwsXml(xml, projection);
  const key = Object.keys(parsed)[0]!;
  const root = parsed[key] as XmlValue;
  if (typeof root === 'object' && !Array.isArray(root) && root['#text']) {
    put(root, key, root['#text']);
    delete root['#text'];
  }
  return textNodes(root);
}

function textNodes(obj: XmlValue): XmlValue {
  if (typeof obj !== 'object') return obj;
  const o = obj as Record<string, XmlValue>;
  for (const k of Object.keys(o)) {
    const v = o[k]!;
    if (typeof v !== 'object') continue;
    const text = (v as Record<string, XmlValue>)['#text'];
    if (text !== undefined) o[k] = text;
    else o[k] = textNodes(v);
  }
  return obj;
}

type ProtocolOptions = ConstructorParameters<typeof AwsEc2QueryProtocol>[0];
/** The parts of the SDK's NormalizedSchema a plan is made with. */
interface NormalizedSchema {
  getMemberSchema(member: string): NormalizedSchema | undefined;
  getValueSchema(): NormalizedSchema;
  getMemberTraits(): { xmlName?: string };
  getMergedTraits(): { xmlName?: string; xmlFlattened?: unknown; mediaType?: string };
  isListSchema(): boolean;
  isStructSchema(): boolean;
  isStringSchema(): boolean;
}
type SdkSchema = Parameters<XmlShapeDeserializer['readSchema']>[0];

/** What a caller reads of an answer: the elements to keep (`projection`), and per response root a plan to read straight into output. */
export interface Ec2Reading {
  projection?: XmlProjection;
  plans?: ReadonlyMap<string, ReadPlan>;
}

/**
 * The EC2 protocol of the SDK with the faster XML reader; pass as `protocol` to an EC2Client.
 * It extends the SDK's classes, so it is made once the SDK is loaded. With a projection,
 * responses whose root it names keep only the elements it lists (what the caller reads), and
 * everything else in them is skipped unread.
 */
export async function fastEc2Protocol(reading?: XmlProjection | Ec2Reading): Promise<new (options: ProtocolOptions) => AwsEc2QueryProtocol> {
  const { AwsEc2QueryProtocol, XmlShapeDeserializer } = await sdk.protocols();
  const { projection, plans } = reading instanceof Map ? { projection: reading as XmlProjection, plans: undefined } : ((reading ?? {}) as Ec2Reading);
  /** Plans made against the schema on first use, per response root. */
  const planned = new Map<string, PlannedStruct>();
  class FastXmlShapeDeserializer extends XmlShapeDeserializer {
    /**
     * An answer a plan covers is read in one pass straight into the output (no tree of
     * elements, no second walk by the schema); anything else, or anything unusual in it,
     * the general way, which gives the same output.
     */
    override read(schema: Parameters<XmlShapeDeserializer['read']>[0], bytes: Uint8Array, key?: string): unknown {
      const ns = schema as unknown as NormalizedSchema;
      if (!plans || key !== undefined || !bytes.byteLength || typeof ns?.getMemberSchema !== 'function' || !ns.isStructSchema()) return super.read(schema, bytes, key);
      const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
      const xml = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
      try {
        const reader = new PlannedReader(xml);
        const root = reader.root();
        const plan = root !== undefined ? plans.get(root) : undefined;
        if (root !== undefined && plan) {
          let made = planned.get(root);
          if (!made) planned.set(root, (made = planAgainst(ns, plan, (m, text) => this.readSchema(m as unknown as SdkSchema, text))));
          return reader.struct(root, made);
        }
      } catch (e) {
        if (!(e instanceof Unplanned)) throw e;
      }
      return this.readSchema(schema, this.parseXml(raw));
    }

    protected override parseXml(xml: string): unknown {
      try {
        return awsXmlBody(xml, projection);
      } catch (e) {
        // As the SDK does: the body travels with the error for its error handling.
        if (e && typeof e === 'object') Object.defineProperty(e, '$responseBodyText', { value: xml });
        throw e;
      }
    }
  }
  return class FastEc2Protocol extends AwsEc2QueryProtocol {
    constructor(options: ProtocolOptions) {
      super(options);
      this.deserializer = new FastXmlShapeDeserializer(this.deserializer.settings);
    }
  };
}
