import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { AsciicastRecording, asciicastEvent, asciicastHeader, checkRecordingFolder, listRecordings, readRecording, recordingFileName } from '../../../electron/main/session/recording';
import { parseAsciicast, playbackSchedule } from '../../../renderer/lib/terminal/asciicast';
import { recordingNameSchema } from '../../../electron/contract';

const dir = mkdtempSync(join(tmpdir(), 'keyless-unit-rec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('asciicast v2 recordings', () => {
  it('writes a header and timed output that the player reads back in order', async () => {
    const rec = await AsciicastRecording.create({ folder: dir, sessionId: 's7', title: 'web 1 / prod', cols: 100, rows: 30, includeInput: false, onError: () => {} });
    rec.output('hello ');
    rec.input('secret\r');
    rec.output('wörld 😀\r\n');
    rec.resize(120, 40);
    await rec.close();
    const text = readFileSync(rec.path, 'utf8');
    const cast = parseAsciicast(text);
    expect(cast).toMatchObject({ width: 100, height: 30, title: 'web 1 / prod' });
    expect(cast.output.map((o) => o[1]).join('')).toBe('hello wörld 😀\r\n');
    expect(text).not.toContain('secret'); // input only when asked
    expect(text).toContain('"r","120x40"');
    expect(cast.output[1]![0]).toBeGreaterThanOrEqual(cast.output[0]![0]);
    expect(recordingNameSchema.safeParse(rec.name).success).toBe(true);
    expect(await listRecordings(dir)).toEqual([expect.objectContaining({ name: rec.name })]);
    expect(await readRecording(dir, rec.name)).toBe(text);
  });

  it('records input when asked, and never overwrites a file', async () => {
    // Both in the same second (the name holds the time to the second): the same name, so the second is refused.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(new Date(2026, 11, 7, 12, 0, 0, 100));
      const rec = await AsciicastRecording.create({ folder: dir, sessionId: 's8', title: 't', cols: 80, rows: 24, includeInput: true, onError: () => {} });
      rec.input('ls\r');
      await rec.close();
      expect(readFileSync(rec.path, 'utf8')).toContain('"i","ls\\r"');
      vi.setSystemTime(new Date(2026, 11, 7, 12, 0, 0, 900));
      await expect(AsciicastRecording.create({ folder: dir, sessionId: 's8', title: 't', cols: 80, rows: 24, includeInput: true, onError: () => {} })).rejects.toMatchObject({ code: 'RecordingFolderUnusable' });
      expect(readFileSync(rec.path, 'utf8')).toContain('"i","ls\\r"');
    } finally {
      vi.useRealTimers();
    }
  });

  it('begins at once for a session recorded from its first byte: nothing written before the file opened is lost', async () => {
    const errors: Error[] = [];
    const rec = AsciicastRecording.begin({ folder: dir, sessionId: 's9', title: 'auto', cols: 80, rows: 24, includeInput: false, onError: (e) => errors.push(e) });
    rec.output('first byte');
    rec.input('typed');
    expect(await rec.whenOpen()).toBeUndefined();
    rec.output(' and more');
    await rec.close();
    const text = readFileSync(rec.path, 'utf8');
    expect(parseAsciicast(text).output.map((o) => o[1]).join('')).toBe('first byte and more');
    expect(text).not.toContain('typed');
    expect(errors).toEqual([]);

    // A folder gone between the check and the start: reported, never thrown at the session.
    const gone = AsciicastRecording.begin({ folder: join(dir, 'gone'), sessionId: 's10', title: 'auto', cols: 80, rows: 24, includeInput: false, onError: (e) => errors.push(e) });
    gone.output('x');
    expect(await gone.whenOpen()).toBeInstanceOf(Error);
    expect(errors).toHaveLength(1);
    await gone.close();
  });

  it('accepts only an absolute path to an existing, writable folder', async () => {
    await expect(checkRecordingFolder('')).rejects.toMatchObject({ code: 'RecordingFolderUnusable' });
    await expect(checkRecordingFolder('relative/dir')).rejects.toMatchObject({ code: 'RecordingFolderUnusable' });
    await expect(checkRecordingFolder(join(dir, 'missing'))).rejects.toMatchObject({ code: 'RecordingFolderUnusable' });
    writeFileSync(join(dir, 'plain-file'), 'x');
    await expect(checkRecordingFolder(join(dir, 'plain-file'))).rejects.toMatchObject({ code: 'RecordingFolderUnusable' });
    await expect(checkRecordingFolder(dir)).resolves.toBeTruthy();
  });

  it('plays back only regular files in the folder, never a symlink out of it', async () => {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret.cast'), 'x');
    const inside = join(dir, 'in');
    mkdirSync(inside);
    symlinkSync(join(outside, 'secret.cast'), join(inside, 'link.cast'));
    await expect(readRecording(inside, 'link.cast')).rejects.toMatchObject({ code: 'NotFound' });
    expect(await listRecordings(inside)).toEqual([]);
    for (const bad of ['../x.cast', '.hidden.cast', 'a/b.cast', 'x.txt', '']) expect(recordingNameSchema.safeParse(bad).success, bad).toBe(false);
  });

  it('names files from the title with safe characters only', () => {
    const name = recordingFileName('../../etc/passwd ☃', 's1', new Date(2026, 0, 2, 3, 4, 5));
    expect(name).toBe('etc-passwd-20260102-030405-s1.cast');
    expect(recordingFileName('', 's2', new Date(2026, 0, 2, 3, 4, 5))).toBe('session-20260102-030405-s2.cast');
  });

  it('plays back at the size in effect when output began', () => {
    const text = ['{"version":2,"width":80,"height":24}', '[0.01,"r","132x40"]', '[0.3,"o","$ "]', '[5,"r","100x30"]', '[5.1,"o","x"]', '[6,"r","bogus"]'].join('\n');
    expect(parseAsciicast(text)).toMatchObject({ width: 132, height: 40, output: [[0.3, '$ '], [5.1, 'x']] });
    expect(parseAsciicast('{"version":2,"width":90,"height":20}\n[0.1,"o","a"]\n[0.2,"r","10x10"]')).toMatchObject({ width: 90, height: 20 });
  });

  it('shortens long pauses in playback and keeps order', () => {
    const out: Array<[number, string]> = [[0.1, 'a'], [0.2, 'b'], [30, 'c'], [30.5, 'd']];
    expect(playbackSchedule(out, 1, 1)).toEqual([0.1, 0.2, 1.2, 1.7]);
    expect(playbackSchedule(out, 1, 2)).toEqual([0.05, 0.1, 0.6, 0.85]);
    expect(() => parseAsciicast('{"version":1}')).toThrow();
    expect(asciicastHeader({ width: 1, height: 2, timestamp: 3 })).toBe('{"version":2,"width":1,"height":2,"timestamp":3,"env":{"TERM":"xterm-256color"}}\n');
    expect(asciicastEvent(1.23456789, 'o', 'x')).toBe('[1.234568,"o","x"]\n');
  });
});
