import { createWriteStream, type WriteStream } from 'node:fs';
import { access, constants, lstat, readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import type { RecordingInfo } from '../../contract';
import { fail } from '../base/errors';
import { READ_LIMITS, readRegularTextFile } from '../base/safe-read';
import type { Disposable } from '../base/lifecycle';

/** Recordings larger than this are not loaded for playback (the renderer holds them whole). */
export const MAX_PLAYBACK_BYTES = READ_LIMITS.recording;

export interface AsciicastHeader {
  version: 2;
  width: number;
  height: number;
  timestamp: number;
  title?: string;
  env: { TERM: string };
}

/** The first line of an asciicast v2 file. */
export function asciicastHeader(h: Omit<AsciicastHeader, 'version' | 'env'>): string {
  return JSON.stringify({ version: 2, width: h.width, height: h.height, timestamp: h.timestamp, ...(h.title ? { title: h.title } : {}), env: { TERM: 'xterm-256color' } } satisfies AsciicastHeader) + '\n';
}

/** One event line: seconds since the start, the kind ("o" output, "i" input, "r" resize), the data. */
export function asciicastEvent(seconds: number, kind: 'o' | 'i' | 'r', data: string): string {
  return JSON.stringify([Math.round(seconds * 1e6) / 1e6, kind, data]) + '\n';
}

/** A file name main chooses: the title reduced to safe characters, the local time, the session. */
export function recordingFileName(title: string, sessionId: string, at: Date): string {
  const slug = title.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[.-]+|-+$/g, '').slice(0, 60) || 'session';
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}-${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}`;
  return `${slug}-${stamp}-${sessionId}.cast`;
}

/**
 * The recording folder from the settings, checked before every use: an absolute path to an
 * existing folder this process can write to. Returns its real path (symlinks resolved).
 */
export async function checkRecordingFolder(folder: string): Promise<string> {
  const unusable = (why: string): never => fail('RecordingFolderUnusable', `The recording folder ${folder || '(not set)'} ${why}.`, { folder, why });
  if (!folder) unusable('is not set; choose one in the terminal settings');
  if (!isAbsolute(folder) || folder.includes('\0')) unusable('is not an absolute path');
  let real = '';
  try {
    real = await realpath(folder);
    if (!(await stat(real)).isDirectory()) unusable('is not a folder');
    await access(real, constants.W_OK);
  } catch (err) {
    if ((err as { code?: string }).code === 'RecordingFolderUnusable') throw err;
    unusable('does not exist or cannot be written');
  }
  return real;
}

export async function listRecordings(folder: string): Promise<RecordingInfo[]> {
  const real = await checkRecordingFolder(folder);
  const out: RecordingInfo[] = [];
  for (const name of await readdir(real)) {
    if (!/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}\.cast$/.test(name)) continue;
    const info = await lstat(join(real, name)).catch(() => undefined);
    if (info?.isFile()) out.push({ name, bytes: info.size, modified: info.mtimeMs });
  }
  return out.sort((a, b) => b.modified - a.modified);
}

/** A recording's text. Only regular files directly in the folder; never a symlink out of it. */
export async function readRecording(folder: string, name: string): Promise<string> {
  const real = await checkRecordingFolder(folder);
  const path = join(real, name);
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isFile()) fail('NotFound', `There is no recording ${name} in ${real}.`, { name });
  if (info.size > MAX_PLAYBACK_BYTES) fail('RecordingFolderUnusable', `${name} is too large to play back (${info.size} bytes).`, { folder, why: 'too large' });
  // Checked again on the descriptor: the name may have been replaced (by a FIFO, say) since.
  return readRegularTextFile(path, MAX_PLAYBACK_BYTES);
}

/**
 * An asciicast v2 recording being written: output (and input when asked) with its timing.
 * The file is created new (never overwritten), readable by its owner only.
 */
export class AsciicastRecording implements Disposable {
  private readonly started = performance.now();
  private failed: Error | undefined;
  private closed = false;
  /** Settles once the file is open: undefined, or the error that kept it from being created. */
  private opening: Promise<Error | undefined> = Promise.resolve(undefined);

  private constructor(
    readonly name: string,
    readonly path: string,
    private readonly stream: WriteStream,
    private readonly includeInput: boolean,
  ) {}

  static async create(opts: {
    folder: string;
    sessionId: string;
    title: string;
    cols: number;
    rows: number;
    includeInput: boolean;
    onError: (err: Error) => void;
  }): Promise<AsciicastRecording> {
    const real = await checkRecordingFolder(opts.folder);
    const now = new Date();
    const name = recordingFileName(opts.title, opts.sessionId, now);
    const path = join(real, name);
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      stream.once('open', () => resolve());
      stream.once('error', reject);
    }).catch(() => fail('RecordingFolderUnusable', `Keyless could not create ${path}.`, { folder: opts.folder, why: 'create failed' }));
    const rec = new AsciicastRecording(name, path, stream, opts.includeInput);
    stream.on('error', (err) => {
      rec.failed = err;
      opts.onError(err);
    });
    stream.write(asciicastHeader({ width: opts.cols, height: opts.rows, timestamp: Math.floor(now.getTime() / 1000), title: opts.title }));
    return rec;
  }

  /**
   * Starts a recording at once, without waiting: for a session recorded from its first byte (a
   * host set to record automatically). `folder` is a real path checkRecordingFolder returned; what
   * is written before the file is open waits in the stream, and a file that cannot be created
   * reaches `onError` like any later write failure.
   */
  static begin(opts: { folder: string; sessionId: string; title: string; cols: number; rows: number; includeInput: boolean; onError: (err: Error) => void }): AsciicastRecording {
    const now = new Date();
    const name = recordingFileName(opts.title, opts.sessionId, now);
    const path = join(opts.folder, name);
    const stream = createWriteStream(path, { flags: 'wx', mode: 0o600 });
    const rec = new AsciicastRecording(name, path, stream, opts.includeInput);
    rec.opening = new Promise((resolve) => {
      stream.once('open', () => resolve(undefined));
      stream.once('error', (err) => resolve(err));
    });
    stream.on('error', (err) => {
      rec.failed = err;
      opts.onError(err);
    });
    stream.write(asciicastHeader({ width: opts.cols, height: opts.rows, timestamp: Math.floor(now.getTime() / 1000), title: opts.title }));
    return rec;
  }

  /** For a recording made with `begin`: resolves when its file is open, with the error if it could not be created. */
  whenOpen(): Promise<Error | undefined> {
    return this.opening;
  }

  private elapsed(): number {
    return (performance.now() - this.started) / 1000;
  }

  output(text: string): void {
    if (!this.closed && !this.failed) this.stream.write(asciicastEvent(this.elapsed(), 'o', text));
  }
  input(text: string): void {
    if (this.includeInput && !this.closed && !this.failed) this.stream.write(asciicastEvent(this.elapsed(), 'i', text));
  }
  resize(cols: number, rows: number): void {
    if (!this.closed && !this.failed) this.stream.write(asciicastEvent(this.elapsed(), 'r', `${cols}x${rows}`));
  }

  /** Resolves once everything is on disk. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.stream.end(() => resolve()));
  }

  dispose(): void {
    void this.close();
  }
}
