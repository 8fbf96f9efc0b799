import type { FileKind } from '../../../electron/contract';

/** 1536 → "1.5 KiB": binary units, one decimal under 10. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** Seconds since the epoch, as a local date and time in the UI's language. */
export function formatTime(s: number, locale: string): string {
  if (!s) return '';
  return new Date(s * 1000).toLocaleString(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

/** `drwxr-xr-x`, as ls shows it (setuid, setgid and sticky included). */
export function formatMode(kind: FileKind, mode: number): string {
  const type: Record<FileKind, string> = { dir: 'd', link: 'l', fifo: 'p', socket: 's', char: 'c', block: 'b', file: '-', other: '?' };
  const rwx = (bits: number, special: boolean, letter: string) =>
    `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${special ? (bits & 1 ? letter : letter.toUpperCase()) : bits & 1 ? 'x' : '-'}`;
  return type[kind] + rwx(mode >> 6, !!(mode & 0o4000), 's') + rwx(mode >> 3, !!(mode & 0o2000), 's') + rwx(mode, !!(mode & 0o1000), 't');
}

/** Seconds as "1 h 2 min", "3 min 4 s", "5 s". */
export function formatDuration(s: number): string {
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${s} s`;
}
