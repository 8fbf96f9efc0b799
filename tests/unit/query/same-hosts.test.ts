import { describe, expect, it } from 'vitest';
import { filterInstances, queryProblems } from '../../../electron/contract';
import { filterRows, toRow } from '../../../renderer/lib/inventory/inventory-filter';
import { inst } from '../inventory/instance-fixture';

// One filter language (electron/contract/query.ts): a smart group holds exactly the instances its
// query shows in the inventory's filter box — the box only ranks them.
const fleet = [
  inst({ id: 'i-0000000000000b001', name: 'web-1', state: 'running', region: 'eu-west-1', tags: { Name: 'web-1', env: 'prod', role: 'web', team: 'payments' }, privateIp: '10.0.1.10', publicIp: '54.1.2.3' }),
  inst({ id: 'i-0000000000000b002', name: 'web-2', state: 'stopped', region: 'eu-west-1', tags: { Name: 'web-2', env: 'production', role: 'web' }, privateIp: '10.0.1.11' }),
  inst({ id: 'i-0000000000000b003', name: 'db-primary', state: 'running', region: 'us-east-1', tags: { Name: 'db-primary', env: 'prod', role: 'db' }, privateIp: '10.1.0.5', vpcId: 'vpc-2' }),
  inst({ id: 'i-0000000000000b004', name: 'Café-batch', state: 'running', region: 'ap-northeast-1', tags: { Name: 'Café-batch', env: 'preprod', 'aws:cloudformation:stack-name': 'core db' }, privateIp: '172.16.0.9' }),
  inst({ id: 'i-0000000000000b005', name: '', state: 'running', region: 'us-east-1', tags: {}, privateIp: '10.9.9.9' }),
];
const rows = fleet.map(toRow);

describe('the same query gives the same hosts in a smart group and in the inventory filter', () => {
  it.each([
    'tag:env=prod state:running region:eu-west-1',
    'env:prod',
    'env:"prod"',
    'tag:"env=prod"',
    'env:pr*d',
    'region:eu-west-1 region:us-east-1',
    '-env:prod',
    'role: -role:db',
    'tag:role',
    'team:',
    'name:web',
    'name:*1',
    'ip:10.0.',
    'vpc:vpc-2',
    'web',
    'wb',
    'cafe',
    'café batch',
    'prim state:running',
    'db',
    'zzzz',
    'i-0000000000000b00',
    'STATE:Running ENV:PROD',
  ])('%s', (query) => {
    expect(queryProblems(query)).toEqual([]);
    const smartGroup = filterInstances(fleet, query).map((i) => i.id);
    const inventory = filterRows(rows, query).map((r) => r.inst.id);
    expect(new Set(inventory)).toEqual(new Set(smartGroup));
  });

  it('and the table holds cases that tell the rules apart (so the comparison above is not of empty sets)', () => {
    const ids = (q: string) => filterInstances(fleet, q).map((i) => i.id.slice(-1));
    expect(ids('env:prod')).toEqual(['1', '2', '3']);
    expect(ids('env:"prod"')).toEqual(['1', '3']);
    expect(ids('region:eu-west-1 region:us-east-1')).toEqual(['1', '2', '3', '5']);
    expect(ids('-env:prod')).toEqual(['4', '5']);
    expect(ids('cafe')).toEqual(['4']);
    expect(ids('ip:10.0.')).toEqual(['1', '2']);
  });
});
