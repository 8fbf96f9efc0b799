import { readFileSync } from 'node:fs';

const ESCAPE = /[&<>]/;
const ESCAPE_ALL = /[&<>]/g;
const ESCAPED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** Element-text escaping as AWS does it (quotes stay as they are). */
export function escapeXml(s: string): string {
  return ESCAPE.test(s) ? s.replace(ESCAPE_ALL, (c) => ESCAPED[c]!) : s;
}

interface ModelMember {
  shape: string;
  locationName?: string;
}
interface ModelShape {
  type: string;
  members?: Record<string, ModelMember>;
  member?: ModelMember;
}
interface Ec2Model {
  operations: Record<string, { output?: { shape: string } }>;
  shapes: Record<string, ModelShape>;
}

// The subset of botocore's EC2 model (models/extract.ts) that names every element we write.
const model = JSON.parse(readFileSync(new URL('./models/ec2-subset.json', import.meta.url), 'utf8')) as Ec2Model;

export const EC2_NAMESPACE = 'http://ec2.amazonaws.com/doc/2016-11-15/';

/** A value's XML written before (a cached instance): put in place of the value, taken as it is. */
export class WrittenXml {
  constructor(
    readonly shape: string,
    readonly xml: string,
  ) {}
}

/** Writes one value of a model shape as the XML of its content (without its own element). */
type ShapeWriter = (value: unknown) => string;

function scalar(type: string): ShapeWriter {
  if (type === 'timestamp') return (v) => (v instanceof Date ? v : new Date(v as string | number)).toISOString();
  return (v) => escapeXml(String(v));
}

/**
 * One writer per shape, made from the model once and kept: a page of a thousand instances is
 * then string concatenation, not a walk of the model per value. Made on first use, so a shape
 * the subset lacks fails when (and only when) something is written with it.
 */
const writers = new Map<string, ShapeWriter>();
function writerFor(shapeName: string): ShapeWriter {
  const known = writers.get(shapeName);
  if (known) return known;
  const shape = model.shapes[shapeName];
  if (!shape) {
    const missing: ShapeWriter = () => {
      throw new Error(`EC2 model has no shape ${shapeName}`);
    };
    writers.set(shapeName, missing);
    return missing;
  }
  // Recursive shapes meet this forwarder while their own writer is being made.
  let write: ShapeWriter = () => '';
  const forward: ShapeWriter = (v) => write(v);
  writers.set(shapeName, forward);
  if (shape.type === 'structure') {
    const members = Object.entries(shape.members ?? {}).map(([name, m]) => {
      const tag = m.locationName ?? name;
      return { name, open: `<${tag}>`, close: `</${tag}>`, write: writerFor(m.shape) };
    });
    const names = new Set(members.map((m) => m.name));
    write = (value) => {
      if (value instanceof WrittenXml) {
        if (value.shape !== shapeName) throw new Error(`XML written as ${value.shape} given where ${shapeName} goes`);
        return value.xml;
      }
      const obj = value as Record<string, unknown>;
      let out = '';
      for (const m of members) {
        const v = obj[m.name];
        if (v === undefined || v === null) continue;
        out += m.open + m.write(v) + m.close;
      }
      for (const k of Object.keys(obj)) {
        if (!names.has(k)) throw new Error(`EC2 shape ${shapeName} has no member ${k}`);
      }
      return out;
    };
  } else if (shape.type === 'list') {
    const tag = shape.member!.locationName ?? 'member';
    const open = `<${tag}>`;
    const close = `</${tag}>`;
    const item = writerFor(shape.member!.shape);
    write = (value) => {
      let out = '';
      for (const v of value as unknown[]) out += open + item(v) + close;
      return out;
    };
  } else {
    write = scalar(shape.type);
  }
  writers.set(shapeName, write);
  return write;
}

/**
 * An EC2 query-protocol answer: `<{Op}Response xmlns=…><requestId/>…members…</{Op}Response>`,
 * `result` keyed by the model's member names (as the SDKs name them), elements named by the
 * model's locationName. An unknown member throws, so a typo cannot silently vanish.
 */
export function ec2Response(operation: string, result: Record<string, unknown>, requestId: string): string {
  const op = model.operations[operation];
  if (!op) throw new Error(`EC2 model subset lacks ${operation}; add it to models/extract.ts`);
  const body = op.output ? writerFor(op.output.shape)(result) : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${EC2_NAMESPACE}"><requestId>${requestId}</requestId>${body}</${operation}Response>`;
}

/** The XML of one value of a model shape (its content, without its own element). */
export function shapeXml(shapeName: string, value: unknown): string {
  return writerFor(shapeName)(value);
}

/** Plain element tree for the STS query answers (few shapes, written by hand). */
export function element(tag: string, content: Record<string, unknown> | string | number | boolean | undefined): string {
  if (content === undefined) return '';
  if (typeof content !== 'object') return `<${tag}>${escapeXml(String(content))}</${tag}>`;
  return `<${tag}>${Object.entries(content)
    .map(([k, v]) => element(k, v as Record<string, unknown>))
    .join('')}</${tag}>`;
}
