/** An asciicast v2 recording, read for playback. */
export interface Asciicast {
  width: number;
  height: number;
  title?: string;
  /** Output events only, in order: seconds since the start and the text. */
  output: Array<[number, string]>;
}

/**
 * Parses asciicast v2 text; lines that are not events (or not output) are skipped. The size is
 * the one in effect when output begins: a recording that starts with the session (a host that
 * records automatically) has the PTY's first size in its header and the fitted one in an "r"
 * event right after. Later size changes are not replayed.
 */
export function parseAsciicast(text: string): Asciicast {
  const lines = text.split('\n');
  const header = JSON.parse(lines[0] ?? '') as { version?: unknown; width?: unknown; height?: unknown; title?: unknown };
  if (header.version !== 2) throw new Error('not an asciicast v2 recording');
  const cast: Asciicast = {
    width: typeof header.width === 'number' ? header.width : 80,
    height: typeof header.height === 'number' ? header.height : 24,
    output: [],
  };
  if (typeof header.title === 'string') cast.title = header.title;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line) continue;
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (!Array.isArray(ev) || typeof ev[0] !== 'number' || typeof ev[2] !== 'string') continue;
    if (ev[1] === 'o') cast.output.push([ev[0], ev[2]]);
    const size = ev[1] === 'r' && cast.output.length === 0 ? /^(\d{1,4})x(\d{1,4})$/.exec(ev[2]) : null;
    if (size) {
      cast.width = Number(size[1]);
      cast.height = Number(size[2]);
    }
  }
  return cast;
}

/** Playback times with long pauses shortened to `maxIdle` seconds and the whole sped up by `speed`. */
export function playbackSchedule(output: Asciicast['output'], maxIdle = 1, speed = 1): number[] {
  const at: number[] = [];
  let prev = 0;
  let t = 0;
  for (const [time] of output) {
    t += Math.min(Math.max(0, time - prev), maxIdle) / speed;
    prev = time;
    at.push(t);
  }
  return at;
}
