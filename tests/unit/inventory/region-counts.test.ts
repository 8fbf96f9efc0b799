import { describe, expect, it } from 'vitest';
import { parseQuery } from '../../../electron/contract';
import { barOf, barQuery, regionCounts } from '../../../renderer/lib/inventory/region-counts';

describe('counts per region and state', () => {
  it('counts running, stopped and the rest per region, most instances first', () => {
    const counts = regionCounts([
      { region: 'eu-west-1', state: 'running' },
      { region: 'us-east-1', state: 'running' },
      { region: 'us-east-1', state: 'stopped' },
      { region: 'us-east-1', state: 'pending' },
    ]);
    expect(counts).toEqual([
      { region: 'us-east-1', total: 3, running: 1, stopped: 1, other: 1 },
      { region: 'eu-west-1', total: 1, running: 1, stopped: 0, other: 0 },
    ]);
  });
});

describe('the filter a bar applies', () => {
  it('replaces the region and state terms and keeps the rest', () => {
    expect(barQuery('env:prod web -region:eu-west-1 state:running', 'us-east-1')).toBe('env:prod web region:"us-east-1"');
    expect(barQuery('', 'us-east-1', 'stopped')).toBe('region:"us-east-1" state:"stopped"');
    expect(barQuery('Region:"x y"', 'us-east-1', 'other')).toBe('region:"us-east-1" -state:"running" -state:"stopped"');
  });
  it('reads back as the query language reads it, and marks its own bar', () => {
    const q = barQuery('env:prod', 'us-east-1', 'running');
    expect(parseQuery(q).terms).toEqual([
      { key: 'env', value: 'prod', negate: false, whole: false },
      { key: 'region', value: 'us-east-1', negate: false, whole: true },
      { key: 'state', value: 'running', negate: false, whole: true },
    ]);
    expect(barOf(q)).toEqual({ region: 'us-east-1', bucket: 'running' });
    expect(barOf(barQuery('', 'us-east-1', 'other'))).toEqual({ region: 'us-east-1', bucket: 'other' });
    expect(barOf('region:us-east-1')).toBeUndefined();
  });
  it('puts no odd region name into the query', () => {
    expect(barQuery('', 'us-east-1" name:*')).toBe('');
  });
});
