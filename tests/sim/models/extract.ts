// Regenerates ec2-subset.json: the botocore EC2 model shapes reachable from the outputs of the
// operations the simulator serves. The XML answers are written from this model, so element
// names, list wrappers and scalar types are botocore's own. Run: npx tsx tests/sim/models/extract.ts
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';

export const EC2_OPERATIONS = [
  'DescribeRegions', 'DescribeAvailabilityZones', 'DescribeInstances', 'DescribeVpcs', 'DescribeSubnets',
  'DescribeSecurityGroups', 'DescribeInstanceConnectEndpoints', 'CreateInstanceConnectEndpoint',
  'DeleteInstanceConnectEndpoint', 'GetConsoleOutput', 'StartInstances', 'StopInstances', 'DescribeImages',
  'DescribeSecurityGroupRules', 'DescribeRouteTables', 'DescribeNetworkAcls', 'DescribeInstanceStatus',
  'AuthorizeSecurityGroupIngress', 'AuthorizeSecurityGroupEgress', 'RevokeSecurityGroupIngress', 'RevokeSecurityGroupEgress',
  'DescribeInternetGateways',
];

interface Shape { type: string; members?: Record<string, { shape: string }>; member?: { shape: string } }
const botocore = execFileSync('python3', ['-c', 'import botocore,os;print(os.path.dirname(botocore.__file__))']).toString().trim();
const model = JSON.parse(gunzipSync(readFileSync(join(botocore, 'data/ec2/2016-11-15/service-2.json.gz'))).toString()) as {
  metadata: unknown;
  operations: Record<string, { output?: { shape: string }; input?: { shape: string } }>;
  shapes: Record<string, Shape>;
};
const keep: Record<string, Shape> = {};
const visit = (name: string) => {
  if (keep[name]) return;
  const s = model.shapes[name]!;
  keep[name] = s;
  for (const m of Object.values(s.members ?? {})) visit(m.shape);
  if (s.member) visit(s.member.shape);
};
const operations: Record<string, unknown> = {};
for (const op of EC2_OPERATIONS) {
  const o = model.operations[op]!;
  operations[op] = { output: o.output };
  if (o.output) visit(o.output.shape);
}
// Documentation strings are dropped: the subset is for serialising, not for reading.
const strip = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(strip) : v && typeof v === 'object'
    ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'documentation').map(([k, x]) => [k, strip(x)]))
    : v;
writeFileSync(new URL('./ec2-subset.json', import.meta.url), JSON.stringify(strip({ metadata: model.metadata, operations, shapes: keep })) + '\n');
console.log(`${Object.keys(keep).length} shapes`);
