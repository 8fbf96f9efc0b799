import { describe, expect, it } from 'vitest';
import { candidateOf, globMatch, parseQuery, queryMatches, queryProblems, type GlobSteps, type QueryInstance } from '../../../electron/contract';

/** Patterns of many `*x` pieces made the old regular expression backtrack for minutes on a 60-character name. */
const HOSTILE = '*a*a*a*a*a*a*a*a*a*a*b';

describe('glob matching (smart groups, known_hosts)', () => {
  it('* is any run, ? one character, case does not matter, everything else is literal', () => {
    expect(globMatch('web-*', 'WEB-12')).toBe(true);
    expect(globMatch('web-?', 'web-12')).toBe(false);
    expect(globMatch('web-??', 'web-12')).toBe(true);
    expect(globMatch('*', '')).toBe(true);
    expect(globMatch('', '')).toBe(true);
    expect(globMatch('', 'x')).toBe(false);
    expect(globMatch('a*b*c', 'aXXbYYc')).toBe(true);
    expect(globMatch('a*b*c', 'aXXbYYcd')).toBe(false);
    expect(globMatch('*.corp', 'app.corp')).toBe(true);
    expect(globMatch('t3.*', 't3Xmicro')).toBe(false);
    expect(globMatch('[10.0.0.1]:22', '[10.0.0.1]:22')).toBe(true);
    expect(globMatch('[10]', '1')).toBe(false);
    expect(globMatch('(a|b)+', 'a')).toBe(false);
    expect(globMatch('?', '🚀')).toBe(true);
    expect(globMatch('*🚀?', 'go🚀!')).toBe(true);
  });

  it('a pattern of many * pieces costs steps in proportion to the name, not exponentially', () => {
    const steps = (n: number) => {
      const s: GlobSteps = { count: 0 };
      expect(globMatch(HOSTILE, 'a'.repeat(n), s)).toBe(false);
      return s.count;
    };
    const short = steps(80);
    const long = steps(160);
    expect(short).toBeGreaterThan(80);
    expect(long / short).toBeLessThanOrEqual(2.5);
    const s: GlobSteps = { count: 0 };
    expect(globMatch(HOSTILE, 'a'.repeat(160) + 'b', s)).toBe(true);
  });

  it('a smart group with such a pattern (as a JSON import can bring) answers at once', () => {
    const q = `name:${HOSTILE} tag:env=${HOSTILE}`;
    expect(queryProblems(q)).toEqual([]);
    const query = parseQuery(q);
    const name = 'a'.repeat(160);
    const instance: QueryInstance = {
      id: 'i-0123456789abcdef0', name, state: 'running', region: 'eu-west-1', profile: 'p', account: '1', type: 't3.micro',
      az: 'eu-west-1a', vpcId: 'vpc-1', subnetId: 'subnet-1', privateIp: '10.0.0.1', publicIp: '', platform: 'Linux/UNIX', tags: { env: name },
    };
    expect(queryMatches(query, candidateOf(instance))).toBe(false);
    expect(queryMatches(query, candidateOf({ ...instance, name: name + 'b', tags: { env: name + 'B' } }))).toBe(true);
  });
});
