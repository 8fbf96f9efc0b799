/**
 * Text on its way into a terminal from outside the keyboard (paste, middle-click, drop, and the
 * same text broadcast to other terminals), made safe to hand to xterm.js.
 *
 * - Every ESC becomes ␛ (U+241B): an ESC[201~ inside the text would otherwise end bracketed paste
 *   early, and whatever follows would reach the shell as typed keys (newer xterm.js does the same).
 * - C1 controls (U+0080–U+009F) are dropped: U+009B is CSI, so they are escapes in one character.
 * - `ask` says why the person must say yes first: `controls` when other control characters are left
 *   (Ctrl+O runs the line in bash, Ctrl+D ends the shell: a one-line paste can act at once), always;
 *   `lines` for line breaks (a shell may run each line), when the setting asks for it. Tab is typed
 *   text in a paste and asks nothing.
 */
export interface PreparedPaste {
  readonly text: string;
  readonly lines: number;
  readonly ask: 'controls' | 'lines' | undefined;
}

// eslint-disable-next-line no-control-regex -- these are exactly the characters being matched
const ESC = /\x1b/g;
const C1 = /[\x80-\x9f]/g;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
const LINE_BREAK = /\r\n|\r|\n/;

export function preparePaste(raw: string, opts: { confirmLines: boolean }): PreparedPaste {
  const text = raw.replace(ESC, '\u241b').replace(C1, '');
  const lines = text.split(LINE_BREAK).length;
  const ask = CONTROL.test(text) ? 'controls' : lines > 1 && opts.confirmLines ? 'lines' : undefined;
  return { text, lines, ask };
}

/**
 * The text as the question shows it: each control character other than tab and line breaks as its
 * Unicode control picture (␀…␟, ␡), so the person sees what they are agreeing to.
 */
export function showControls(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (c) => (c === '\x7f' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0))));
}
