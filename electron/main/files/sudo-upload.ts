import { KeylessFailure } from '../base/errors';
import { drainedOrClosed } from './channel-wait';
import type { RangeReader } from './pump';
import { displayName, joinRemote } from './names';
import type { RemoteSide } from './remote-side';

/** A byte string as one shell word: in single quotes, each `'` as `'\''`. Bytes stay bytes. */
export function shellQuote(bytes: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from("'")];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x27) continue;
    parts.push(bytes.subarray(start, i), Buffer.from("'\\''"));
    start = i + 1;
  }
  parts.push(bytes.subarray(start), Buffer.from("'"));
  return Buffer.concat(parts);
}

/**
 * The script `sudo -n` runs: the folder is made when missing; the bytes go to a temporary file made by mktemp (O_EXCL) in the
 * target's folder, which takes the existing file's mode and owner (or the given mode), and is
 * renamed over the target once whole. Whole means all `$4` bytes: a cancel or a dropped
 * connection closes the channel, and sshd then only ends the script's input (no signal without a
 * terminal), so `cat` ends as if the file were done. Short, or cut off by a signal, it removes
 * the temporary file, so nothing is half-written under the target's name.
 */
const SUDO_UPLOAD_SCRIPT = [
  'set -e',
  'd=$1; n=$2; m=$3; s=$4',
  // A file of an uploaded folder: its folder is made here (as root, as the files are).
  'mkdir -p -- "$d"',
  't=$(mktemp "$d/.keyless-sudo-XXXXXXXXXXXX.part")',
  "trap 'rm -f \"$t\"' EXIT",
  "trap 'exit 1' HUP INT TERM PIPE",
  'cat > "$t"',
  'got=$(($(wc -c < "$t")))',
  '[ "$got" = "$s" ] || { echo "keyless: $got of $s bytes came; the file was left as it was" >&2; exit 1; }',
  'if [ -e "$d/$n" ]; then chmod --reference="$d/$n" "$t"; chown --reference="$d/$n" "$t" 2>/dev/null || true; else chmod "$m" "$t"; fi',
  'mv -f "$t" "$d/$n"',
  'trap - EXIT',
].join('; ');

/**
 * Uploads one file with `sudo -n` (to a folder the login user may not write), the person having
 * asked for it. `-n`: sudo never waits for a password (there is no terminal to type it in); when
 * it wants one, the transfer says so.
 */
export async function sudoUpload(o: { side: RemoteSide; dir: Buffer; name: Buffer; size: number; mode: number; reader: RangeReader; signal: AbortSignal; onBytes(n: number): void }): Promise<void> {
  const command = Buffer.concat([
    Buffer.from('sudo -n -- sh -c '),
    shellQuote(Buffer.from(SUDO_UPLOAD_SCRIPT)),
    Buffer.from(' sh '),
    shellQuote(o.dir),
    Buffer.from(' '),
    shellQuote(o.name),
    Buffer.from(` ${(o.mode & 0o7777).toString(8)} ${o.size}`),
  ]);
  const channel = await o.side.exec(command, o.signal);
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-2000)));
  channel.on('data', () => {});
  const exit = new Promise<number | null>((resolve) => channel.on('exit', (code: number | null) => resolve(code)));
  let gone = false;
  const closed = new Promise<void>((resolve) => channel.on('close', () => ((gone = true), resolve())));
  const onAbort = () => channel.close();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const path = displayName(joinRemote(o.dir, o.name));
  try {
    for (let at = 0; at < o.size; ) {
      const data = await o.reader.read(at, Math.min(256 * 1024, o.size - at));
      if (!data || data.length === 0) break;
      if (!channel.write(data)) await drainedOrClosed(channel);
      if (o.signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
      if (gone) break;
      at += data.length;
      o.onBytes(data.length);
    }
    channel.end();
    const code = await Promise.race([exit, closed.then(() => null)]);
    if (o.signal.aborted) throw new KeylessFailure('Cancelled', 'The transfer was cancelled.', true);
    if (code === 0) return;
    // Control characters from the host stay out of the message.
    const said = [...stderr].map((c) => (c < ' ' || c === '\u007f' ? ' ' : c)).join('').replace(/ +/g, ' ').trim().slice(0, 200);
    if (/password is required|not allowed|not in the sudoers|may not run sudo|sudo: .*not found/i.test(said) || code === 127) {
      throw new KeylessFailure('SudoRefused', `sudo on ${o.side.label} refused to write ${path}: ${said || `exit ${code}`}.`, false, { path, host: o.side.label, message: said });
    }
    if (code === null) throw new KeylessFailure('NetworkError', `The connection to ${o.side.label} was lost while writing ${path}.`, true, { host: o.side.label, path, cause: 'lost' });
    throw new KeylessFailure('SftpFailed', `Writing ${path} with sudo on ${o.side.label} failed: ${said || `exit ${code}`}.`, false, { path, host: o.side.label, side: 'remote', message: said });
  } finally {
    o.signal.removeEventListener('abort', onAbort);
  }
}
