// The access-policy Terraform read by HashiCorp's HCL parser (hcl2json, hashicorp/hcl as
// WebAssembly), then every block type, argument and reference checked against a pinned table of
// the AWS provider's schema (fixtures/aws-provider-v5-schema.json): the provider itself cannot be
// downloaded here, so `terraform validate` cannot run.
import { readFileSync } from 'node:fs';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { accessPolicyText, type EndpointPlan, type PolicyTarget } from '../../../electron/main/policy/access-policy';

interface TypeSchema {
  required: string[];
  optional: string[];
  blocks: string[];
  computed: string[];
}
const SCHEMA = JSON.parse(readFileSync(new URL('./fixtures/aws-provider-v5-schema.json', import.meta.url), 'utf8')) as { resource: Record<string, TypeSchema>; data: Record<string, TypeSchema> };
const META = ['count', 'for_each', 'depends_on', 'lifecycle', 'provider'];

type Body = Record<string, unknown>;
type Blocks = Record<string, Record<string, Body[]>>;
interface Doc {
  resource?: Blocks;
  data?: Blocks;
  variable?: Record<string, Body[]>;
  locals?: Body[];
}

/**
 * The traversals (a.b.c…) in an expression as hcl2json gives it (a template string), skipping
 * what is inside string literals but not their `${…}` interpolations, nor `$${` (a literal `${`).
 */
function references(template: string): string[] {
  const found: string[] = [];
  // Each frame: a string (template) or code, with code's brace depth.
  const stack: Array<{ kind: 'string' | 'code'; depth: number }> = [{ kind: 'string', depth: 0 }];
  let i = 0;
  const text = template;
  while (i < text.length) {
    const top = stack[stack.length - 1]!;
    const c = text[i]!;
    if (top.kind === 'string') {
      if (c === '\\') i += 2;
      else if (text.startsWith('$${', i)) i += 3;
      else if (text.startsWith('${', i)) {
        stack.push({ kind: 'code', depth: 0 });
        i += 2;
      } else if (c === '"' && stack.length > 1) {
        stack.pop();
        i += 1;
      } else i += 1;
      continue;
    }
    if (c === '"') {
      stack.push({ kind: 'string', depth: 0 });
      i += 1;
    } else if (c === '{') {
      top.depth++;
      i += 1;
    } else if (c === '}') {
      if (top.depth === 0) stack.pop();
      else top.depth--;
      i += 1;
    } else {
      const m = /^[A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)+/.exec(text.slice(i));
      const before = i > 0 ? text[i - 1]! : ' ';
      if (m && !/[\w.-]/.test(before)) {
        found.push(m[0]);
        i += m[0].length;
      } else if (/[\w-]/.test(c)) {
        i += /^[\w-]+/.exec(text.slice(i))![0].length;
      } else i += 1;
    }
  }
  return found;
}

function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (v && typeof v === 'object') return Object.values(v).flatMap(strings);
  return [];
}

/** Every problem `terraform validate` would have with the document, as far as the table knows. */
async function validate(text: string): Promise<string[]> {
  const doc = (await parse('keyless.tf', text)) as Doc;
  const problems: string[] = [];
  const locals = new Set((doc.locals ?? []).flatMap((l) => Object.keys(l)));
  const variables = new Set(Object.keys(doc.variable ?? {}));
  const check = (mode: 'resource' | 'data') => {
    for (const [type, named] of Object.entries(doc[mode] ?? {})) {
      const schema = SCHEMA[mode][type];
      for (const [name, [body]] of Object.entries(named)) {
        const where = `${mode === 'data' ? 'data.' : ''}${type}.${name}`;
        if (!schema) {
          problems.push(`${where}: the provider has no ${mode === 'data' ? 'data source' : 'resource type'} ${type}`);
          continue;
        }
        const allowed = new Set([...schema.required, ...schema.optional, ...schema.blocks, ...META]);
        for (const key of Object.keys(body!)) if (!allowed.has(key)) problems.push(`${where}: unknown argument ${key}`);
        for (const key of schema.required) if (!(key in body!)) problems.push(`${where}: missing required argument ${key}`);
        for (const ref of strings(body).flatMap(references)) checkRef(ref, where, 'for_each' in body!, 'count' in body!);
      }
    }
  };
  const checkRef = (ref: string, where: string, hasForEach: boolean, hasCount: boolean) => {
    const parts = ref.split('.');
    const [head, a, b, c] = parts;
    if (head === 'var') {
      if (!variables.has(a!)) problems.push(`${where}: var.${a} is not declared`);
    } else if (head === 'local') {
      if (!locals.has(a!)) problems.push(`${where}: local.${a} is not declared`);
    } else if (head === 'each') {
      if (!hasForEach || (a !== 'value' && a !== 'key')) problems.push(`${where}: ${ref} outside a for_each`);
    } else if (head === 'count') {
      if (!hasCount || a !== 'index') problems.push(`${where}: ${ref} outside a count`);
    } else if (head === 'data') {
      const schema = SCHEMA.data[a!];
      if (!doc.data?.[a!]?.[b!]) problems.push(`${where}: ${ref} names no declared data source`);
      else if (!c || !schema || ![...schema.required, ...schema.optional, ...schema.computed].includes(c)) problems.push(`${where}: data.${a} has no attribute ${c}`);
    } else {
      const schema = SCHEMA.resource[head!];
      if (!doc.resource?.[head!]?.[a!]) problems.push(`${where}: ${ref} names no declared resource`);
      else if (!b || !schema || ![...schema.required, ...schema.optional, ...schema.computed].includes(b)) problems.push(`${where}: ${head} has no attribute ${b}`);
    }
  };
  check('resource');
  check('data');
  for (const l of doc.locals ?? []) for (const [name, v] of Object.entries(l)) for (const ref of strings(v).flatMap(references)) checkRef(ref, `local.${name}`, false, false);
  return problems;
}

const ACCOUNT = '123456789012';
const targets: PolicyTarget[] = [
  { instanceId: 'i-0a1b2c3d4e5f00002', region: 'us-east-1', account: ACCOUNT, osUser: 'ec2-user', endpointId: '*', port: 22 },
  { instanceId: 'i-0a1b2c3d4e5f00003', region: 'us-east-1', account: ACCOUNT, osUser: 'ubuntu', endpointId: '*', port: 22 },
  // A database port forwarded through the same endpoint.
  { instanceId: 'i-0a1b2c3d4e5f00003', region: 'us-east-1', account: ACCOUNT, osUser: 'ubuntu', endpointId: '*', port: 5432 },
  { instanceId: 'i-0a1b2c3d4e5f00009', region: 'eu-west-1', account: ACCOUNT, osUser: 'ec2-user', port: 22 },
];
const endpoint: EndpointPlan = {
  region: 'us-east-1',
  subnetId: 'subnet-0a1b2c3d4e5f60012',
  securityGroupIds: [],
  profile: 'prod',
  instanceIds: ['i-0a1b2c3d4e5f00002', 'i-0a1b2c3d4e5f00003'],
};
const full = accessPolicyText(targets, { endpoint });

describe('the access-policy Terraform against the AWS provider’s schema', () => {
  it('for private hosts: role, policy, attachment, endpoint, its group and the rules on both sides, every argument and reference known', async () => {
    expect(await validate(full.terraform)).toEqual([]);
    const doc = (await parse('keyless.tf', full.terraform)) as Doc;
    expect(Object.keys(doc.resource!).sort()).toEqual([
      'aws_ec2_instance_connect_endpoint',
      'aws_iam_policy',
      'aws_iam_role',
      'aws_iam_role_policy_attachment',
      'aws_security_group',
      'aws_vpc_security_group_egress_rule',
      'aws_vpc_security_group_ingress_rule',
    ]);
    expect(Object.keys(doc.data!).sort()).toEqual(['aws_caller_identity', 'aws_instance', 'aws_partition', 'aws_subnet']);
    // The served instances' groups are read from AWS; the one in another region is not among them.
    expect(Object.keys(doc.data!.aws_instance!).sort()).toEqual(['i-0a1b2c3d4e5f00002', 'i-0a1b2c3d4e5f00003']);
    const r = doc.resource!;
    const attachment = r.aws_iam_role_policy_attachment!['keyless-instance-connect']![0]!;
    expect(attachment).toEqual({ role: '${aws_iam_role.keyless-instance-connect.name}', policy_arn: '${aws_iam_policy.keyless-instance-connect.arn}' });
    const role = r.aws_iam_role!['keyless-instance-connect']![0]!;
    expect(role.name).toBe('${var.role_name}');
    expect(references(role.assume_role_policy as string)).toEqual(['data.aws_partition.current.partition', 'data.aws_caller_identity.current.account_id']);
    const sgRef = '${aws_security_group.keyless-instance-connect_endpoint.id}';
    expect(Object.values(r.aws_ec2_instance_connect_endpoint!)[0]![0]).toMatchObject({ security_group_ids: [sgRef], preserve_client_ip: false });
    // One ingress and one egress rule per port the hosts use through the endpoint, between the two sides' groups only.
    const ingress = Object.values(r.aws_vpc_security_group_ingress_rule!).map(([b]) => b!);
    const egress = Object.values(r.aws_vpc_security_group_egress_rule!).map(([b]) => b!);
    expect(ingress.map((b) => [b.from_port, b.to_port]).sort()).toEqual([[22, 22], [5432, 5432]]);
    for (const b of ingress) expect(b).toMatchObject({ for_each: '${local.instance_security_groups}', security_group_id: '${each.value}', referenced_security_group_id: sgRef, ip_protocol: 'tcp' });
    for (const b of egress) expect(b).toMatchObject({ for_each: '${local.instance_security_groups}', security_group_id: sgRef, referenced_security_group_id: '${each.value}', ip_protocol: 'tcp' });
    expect(egress).toHaveLength(2);
    expect(full.terraform).not.toMatch(/cidr_ipv[46]|0\.0\.0\.0\/0|::\/0/);
    expect(references(doc.locals![0]!.instance_security_groups as string).sort()).toEqual([
      'data.aws_instance.i-0a1b2c3d4e5f00002.vpc_security_group_ids',
      'data.aws_instance.i-0a1b2c3d4e5f00003.vpc_security_group_ids',
    ]);
  });

  it('with no endpoint planned: only the role, the policy and the attachment, still valid', async () => {
    const text = accessPolicyText(targets).terraform;
    expect(await validate(text)).toEqual([]);
    const doc = (await parse('keyless.tf', text)) as Doc;
    expect(Object.keys(doc.resource!).sort()).toEqual(['aws_iam_policy', 'aws_iam_role', 'aws_iam_role_policy_attachment']);
  });

  it('an endpoint serving none of the chosen hosts gets no rules (no dangling local), and a named group is kept beside its own', async () => {
    const text = accessPolicyText(targets, { endpoint: { ...endpoint, instanceIds: [], securityGroupIds: ['sg-0123456789abcdef0'] } }).terraform;
    expect(await validate(text)).toEqual([]);
    const doc = (await parse('keyless.tf', text)) as Doc;
    expect(doc.resource!.aws_vpc_security_group_ingress_rule).toBeUndefined();
    expect(Object.values(doc.resource!.aws_ec2_instance_connect_endpoint!)[0]![0]!.security_group_ids).toEqual(['${aws_security_group.keyless-instance-connect_endpoint.id}', 'sg-0123456789abcdef0']);
  });

  it('a literal ${ in a value (escaped as $${) is no reference', async () => {
    const text = accessPolicyText([{ ...targets[0]!, osUser: 'a${data.nothing.here.x}' }], { endpoint }).terraform;
    expect(await validate(text)).toEqual([]);
  });

  it('the check fails on what terraform validate would refuse', async () => {
    const t = full.terraform;
    // The article's own resource name, which the provider does not have.
    expect(await validate(t.replace('resource "aws_ec2_instance_connect_endpoint"', 'resource "aws_instance_connect_endpoint"'))).toEqual([
      'aws_instance_connect_endpoint.keyless-instance-connect_subnet-0a1b2c3d4e5f60012: the provider has no resource type aws_instance_connect_endpoint',
    ]);
    expect(await validate(t.replace('  preserve_client_ip = false', '  preserve_client_ip = false\n  security_groups = []'))).toEqual([
      'aws_ec2_instance_connect_endpoint.keyless-instance-connect_subnet-0a1b2c3d4e5f60012: unknown argument security_groups',
    ]);
    expect(await validate(t.replace('  policy_arn = aws_iam_policy.keyless-instance-connect.arn', '  policy_arn = aws_iam_policy.other.arn'))).toEqual([
      'aws_iam_role_policy_attachment.keyless-instance-connect: aws_iam_policy.other.arn names no declared resource',
    ]);
    expect(await validate(t.replace('aws_iam_role.keyless-instance-connect.name', 'aws_iam_role.keyless-instance-connect.role_name'))).toEqual([
      'aws_iam_role_policy_attachment.keyless-instance-connect: aws_iam_role has no attribute role_name',
    ]);
    expect(await validate(t.replace('.vpc_security_group_ids,', '.security_group_ids,'))).toEqual([
      'local.instance_security_groups: data.aws_instance has no attribute security_group_ids',
    ]);
    expect(await validate(t.replace('  name                 = var.role_name', '  name                 = var.role'))).toEqual(['aws_iam_role.keyless-instance-connect: var.role is not declared']);
    expect(await validate(t.replace(/ {2}ip_protocol += "tcp"\n/, ''))).toEqual([
      'aws_vpc_security_group_ingress_rule.keyless-instance-connect_from_endpoint_22: missing required argument ip_protocol',
    ]);
    expect(await validate(t.replace('  for_each                     = local.instance_security_groups\n', ''))).toEqual([
      'aws_vpc_security_group_ingress_rule.keyless-instance-connect_from_endpoint_22: each.value outside a for_each',
    ]);
  });
});
