import { describe, expect, it } from 'vitest';
import type { FleetHost } from '../../../electron/contract';
import { groupOutputs, inFilter } from '../../../renderer/lib/state/runs.svelte';

const host = (name: string, state: FleetHost['state'], digest?: string, lines = 0): FleetHost => ({
  key: `h:${name}`, name, via: 'eice', state, exitCode: null, durationMs: null, lastLine: '', stdoutBytes: 0, stderrBytes: 0, outputLines: lines, ...(digest ? { outputDigest: digest } : {}),
});

describe('the Runs view helpers', () => {
  it('groups hosts that printed the same, largest group first; hosts that never ran stay out', () => {
    const g = groupOutputs([host('a', 'ok', 'x', 4), host('b', 'failed', 'y', 1), host('c', 'ok', 'x', 4), host('d', 'error')]);
    expect(g.map((x) => [x.hosts.map((h) => h.name), x.lines])).toEqual([
      [['a', 'c'], 4],
      [['b'], 1],
    ]);
  });
  it('filters by outcome; "still going" is every state a host can leave', () => {
    expect(['queued', 'waiting', 'connecting', 'running', 'ok'].map((s) => inFilter(s as FleetHost['state'], 'active'))).toEqual([true, true, true, true, false]);
    expect(inFilter('timedOut', 'timedOut')).toBe(true);
    expect(inFilter('failed', 'ok')).toBe(false);
  });
});
