// The audit's CSV export: a header scripts can rely on, one line per event, values a spreadsheet
// would run as formulas defused, quoting as RFC 4180 wants.
import { describe, expect, it } from 'vitest';
import type { SearchedEvent } from '../../../electron/contract';
import { TRAIL_CSV_COLUMNS, trailCsv, trailCsvFileName } from '../../../renderer/lib/audit/trail-csv';

const base: SearchedEvent = {
  eventId: '7a1e',
  time: Date.UTC(2026, 11, 6, 9, 30, 0),
  eventName: 'SendSSHPublicKey',
  region: 'us-east-1',
  profile: 'prod',
  user: 'arn:aws:iam::123456789012:user/alice',
  sourceIp: '198.51.100.7',
  instanceId: 'i-0a1b2c3d4e5f00002',
  endpointId: null,
  targetIp: null,
  osUser: 'root',
  errorCode: null,
  errorMessage: null,
  alarms: ['rootUser'],
};

describe('the audit CSV', () => {
  it('has the fixed header and one CRLF line per event, with allowed or refused', () => {
    const text = trailCsv([base, { ...base, eventId: '7a1f', osUser: 'ubuntu', errorCode: 'AccessDeniedException', errorMessage: 'explicit deny, "ubuntu"', alarms: ['denied'] }]);
    const lines = text.split('\r\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]).toBe('');
    expect(lines[0]).toBe(TRAIL_CSV_COLUMNS.join(','));
    expect(lines[1]).toBe('2026-12-06T09:30:00.000Z,SendSSHPublicKey,us-east-1,prod,arn:aws:iam::123456789012:user/alice,198.51.100.7,i-0a1b2c3d4e5f00002,,,root,allowed,,,rootUser,7a1e');
    expect(lines[2]).toBe(
      '2026-12-06T09:30:00.000Z,SendSSHPublicKey,us-east-1,prod,arn:aws:iam::123456789012:user/alice,198.51.100.7,i-0a1b2c3d4e5f00002,,,ubuntu,refused,AccessDeniedException,"explicit deny, ""ubuntu""",denied,7a1f',
    );
  });

  it('neutralises cells starting with = + - @ (a caller chooses their session name and the message)', () => {
    const hostile = { ...base, user: '=HYPERLINK("http://evil","x")', errorCode: 'X', errorMessage: '+1+cmd|calc', osUser: '-x', sourceIp: '@SUM(A1)' };
    const cells = trailCsv([hostile]).split('\r\n')[1]!;
    expect(cells).toContain(`"'=HYPERLINK(""http://evil"",""x"")"`);
    expect(cells).toContain(",'+1+cmd|calc,");
    expect(cells).toContain(",'-x,");
    expect(cells).toContain(",'@SUM(A1),");
    // Nothing in the line starts a cell with a formula character.
    for (const cell of cells.split(',')) expect(cell).not.toMatch(/^"?[=+\-@]/);
  });

  it('names the file by time, valid on every OS', () => {
    expect(trailCsvFileName(new Date(Date.UTC(2026, 11, 6, 9, 30, 5)))).toBe('keyless-audit-2026-12-06T09-30-05.csv');
  });
});
