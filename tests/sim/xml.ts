import { readFileSync } from 'node:fs';

/** Element-text escaping as AWS does it (quotes stay as they are). */
export function escapeXml(s: string): string {
  return s.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c]!);
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

function scalar(type: string, v: unknown): string {
  if (type === 'timestamp') return (v instanceof Date ? v : new Date(v as string | number)).toISOString();
  return escapeXml(String(v));
}

function writeShape(shapeName: string, value: unknown, out: string[]): void {
  const shape = model.shapes[shapeName];
  if (!shape) throw new Error(`EC2 model has no shape ${shapeName}`);
  if (shape.type === 'structure') {
    const obj = value as Record<string, unknown>;
    for (const [name, m] of Object.entries(shape.members ?? {})) {
      const v = obj[name];
      if (v === undefined || v === null) continue;
      const tag = m.locationName ?? name;
      out.push(`<${tag}>`);
      writeShape(m.shape, v, out);
      out.push(`</${tag}>`);
    }
    for (const k of Object.keys(obj)) {
      if (!shape.members?.[k]) throw new Error(`EC2 shape ${shapeName} has no member ${k}`);
    }
  } else if (shape.type === 'list') {
    const tag = shape.member!.locationName ?? 'member';
    for (const item of value as unknown[]) {
      out.push(`<${tag}>`);
      writeShape(shape.member!.shape, item, out);
      out.push(`</${tag}>`);
    }
  } else {
    out.push(scalar(shape.type, value));
  }
}

/**
 * An EC2 query-protocol answer: `<{Op}Response xmlns=…><requestId/>…members…</{Op}Response>`,
 * `result` keyed by the model's member names (as the SDKs name them), elements named by the
 * model's locationName. An unknown member throws, so a typo cannot silently vanish.
 */
export function ec2Response(operation: string, result: Record<string, unknown>, requestId: string): string {
  const op = model.operations[operation];
  if (!op) throw new Error(`EC2 model subset lacks ${operation}; add it to models/extract.ts`);
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8"?>\n<${operation}Response xmlns="${EC2_NAMESPACE}">`, `<requestId>${requestId}</requestId>`];
  if (op.output) writeShape(op.output.shape, result, out);
  out.push(`</${operation}Response>`);
  return out.join('');
}

/** Plain element tree for the STS query answers (few shapes, written by hand). */
export function element(tag: string, content: Record<string, unknown> | string | number | boolean | undefined): string {
  if (content === undefined) return '';
  if (typeof content !== 'object') return `<${tag}>${escapeXml(String(content))}</${tag}>`;
  return `<${tag}>${Object.entries(content)
    .map(([k, v]) => element(k, v as Record<string, unknown>))
    .join('')}</${tag}>`;
}
