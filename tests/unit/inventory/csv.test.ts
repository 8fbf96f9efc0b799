import { describe, expect, it } from 'vitest';
import { inst } from './instance-fixture';
import { csvField } from '../../../electron/contract';
import { INVENTORY_CSV_COLUMNS, inventoryCsv, inventoryCsvFileName } from '../../../renderer/lib/inventory/csv';

/** A strict RFC 4180 reader, so the tests check what a spreadsheet or script would read back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"' && field === '') {
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') break;
        else if (i >= text.length) throw new Error('unterminated quote');
        else field += text[i++];
      }
      i++;
      if (text[i] !== ',' && text[i] !== '\r') throw new Error(`text after a closing quote at ${i}`);
    } else if (c === ',') {
      row.push(field);
      field = '';
      i++;
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 2;
    } else if (c === '"' || c === '\n' || c === '\r') {
      throw new Error(`bare ${JSON.stringify(c)} in an unquoted field at ${i}`);
    } else {
      field += c;
      i++;
    }
  }
  if (field || row.length) throw new Error('last line has no CRLF');
  return rows;
}

describe('inventory CSV export', () => {
  it('has a header and one line per instance with the documented columns, in order', () => {
    const csv = inventoryCsv([
      inst({ id: 'i-0aaa', name: 'web-1', publicIp: '203.0.113.5', tags: { Name: 'web-1', env: 'prod' } }),
      inst({ id: 'i-0bbb', state: 'stopped', az: '', region: 'us-east-1', defaultUser: 'ubuntu' }),
    ]);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([
      'Name',
      'InstanceId',
      'State',
      'Type',
      'AZ/Region',
      'Private IP',
      'Public IP',
      'Profile',
      'Account',
      'VPC',
      'Default OS user',
      'Tags',
    ]);
    expect(rows[1]).toEqual(['web-1', 'i-0aaa', 'running', 't3.micro', 'eu-west-1a', '10.0.0.1', '203.0.113.5', 'dev', '123456789012', 'vpc-1', 'ec2-user', 'Name=web-1;env=prod']);
    // No zone known: the region stands in.
    expect(rows[2]).toEqual(['', 'i-0bbb', 'stopped', 't3.micro', 'us-east-1', '10.0.0.1', '', 'dev', '123456789012', 'vpc-1', 'ubuntu', '']);
    expect(rows).toHaveLength(3);
    expect(rows.every((r) => r.length === INVENTORY_CSV_COLUMNS.length)).toBe(true);
  });

  it('exports an empty view as the header alone', () => {
    expect(parseCsv(inventoryCsv([]))).toEqual([[...INVENTORY_CSV_COLUMNS]]);
  });

  it('quotes fields with a comma, quote or line break and doubles the quotes (RFC 4180)', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('')).toBe('');
    const name = 'db "primary", eu\r\nline two';
    const rows = parseCsv(inventoryCsv([inst({ id: 'i-1', name, tags: { owner: 'a,b', note: 'x"y' } })]));
    expect(rows[1]![0]).toBe(name);
    expect(rows[1]![11]).toBe('owner=a,b;note=x"y');
  });

  it('defuses cells a spreadsheet would run as a formula with a leading apostrophe', () => {
    for (const evil of ['=HYPERLINK("http://x","y")', '+1+2', '-2+3', '@SUM(A1)', '\tcmd', '\rcmd']) {
      expect(parseCsv(inventoryCsv([inst({ id: 'i-1', name: evil })]))[1]![0]).toBe(`'${evil}`);
    }
    expect(csvField('=1,2')).toBe(`"'=1,2"`);
    // Tags: the cell starts with a key, so a key like "=cmd" is defused; a value inside is not at the start.
    expect(parseCsv(inventoryCsv([inst({ id: 'i-1', tags: { '=cmd': 'x', env: '=y' } })]))[1]![11]).toBe(`'=cmd=x;env==y`);
    // Only the first character matters: an ordinary value with these characters later is left alone.
    expect(csvField('web-1')).toBe('web-1');
    expect(csvField('a=b')).toBe('a=b');
  });

  it('names the file by the time of export, safe on every OS', () => {
    expect(inventoryCsvFileName(new Date('2026-11-28T16:19:10.123Z'))).toBe('keyless-inventory-2026-11-28T16-19-10.csv');
  });
});
