/**
 * Keyboard shortcuts, following each platform's conventions: Cmd on macOS (Terminal, iTerm2),
 * Ctrl+Shift on Linux and Windows (GNOME Terminal, Windows Terminal) so that plain Ctrl keys
 * still reach the shell. Pure: a key event in, an action out.
 */
export type ShortcutAction =
  | 'newTab'
  | 'closePane'
  | 'nextTab'
  | 'prevTab'
  | 'moveTabLeft'
  | 'moveTabRight'
  | 'goToTab'
  | 'splitRight'
  | 'splitDown'
  | 'focusLeft'
  | 'focusRight'
  | 'focusUp'
  | 'focusDown'
  | 'resizeLeft'
  | 'resizeRight'
  | 'resizeUp'
  | 'resizeDown'
  | 'find'
  | 'copy'
  | 'paste'
  | 'zoomIn'
  | 'zoomOut'
  | 'zoomReset'
  | 'broadcast'
  | 'reconnect'
  | 'settings'
  | 'nextPart'
  | 'prevPart'
  | 'help';

export type Platform = 'mac' | 'other';

export interface KeyLike {
  key: string;
  code: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

export interface Binding {
  action: ShortcutAction;
  /** As shown in the help sheet, e.g. "Ctrl+Shift+T". */
  keys: string;
  /** For goToTab: which tab (1–9). */
  arg?: number;
}

type Spec = [ShortcutAction, string];

const MAC: Spec[] = [
  ['newTab', 'Cmd+T'],
  ['closePane', 'Cmd+W'],
  ['nextTab', 'Ctrl+Tab'],
  ['nextTab', 'Cmd+Shift+]'],
  ['prevTab', 'Ctrl+Shift+Tab'],
  ['prevTab', 'Cmd+Shift+['],
  ['moveTabLeft', 'Cmd+Shift+Left'],
  ['moveTabRight', 'Cmd+Shift+Right'],
  ['goToTab', 'Cmd+1…9'],
  ['splitRight', 'Cmd+D'],
  ['splitDown', 'Cmd+Shift+D'],
  ['focusLeft', 'Cmd+Alt+Left'],
  ['focusRight', 'Cmd+Alt+Right'],
  ['focusUp', 'Cmd+Alt+Up'],
  ['focusDown', 'Cmd+Alt+Down'],
  ['resizeLeft', 'Cmd+Ctrl+Left'],
  ['resizeRight', 'Cmd+Ctrl+Right'],
  ['resizeUp', 'Cmd+Ctrl+Up'],
  ['resizeDown', 'Cmd+Ctrl+Down'],
  ['find', 'Cmd+F'],
  ['copy', 'Cmd+C'],
  ['paste', 'Cmd+V'],
  ['zoomIn', 'Cmd+='],
  ['zoomOut', 'Cmd+-'],
  ['zoomReset', 'Cmd+0'],
  ['broadcast', 'Cmd+Shift+B'],
  ['reconnect', 'Cmd+R'],
  ['settings', 'Cmd+,'],
  ['nextPart', 'F6'],
  ['prevPart', 'Shift+F6'],
  ['help', 'Cmd+/'],
  ['help', 'F1'],
];

const OTHER: Spec[] = [
  ['newTab', 'Ctrl+Shift+T'],
  ['closePane', 'Ctrl+Shift+W'],
  ['nextTab', 'Ctrl+Tab'],
  ['nextTab', 'Ctrl+PageDown'],
  ['prevTab', 'Ctrl+Shift+Tab'],
  ['prevTab', 'Ctrl+PageUp'],
  ['moveTabLeft', 'Ctrl+Shift+PageUp'],
  ['moveTabRight', 'Ctrl+Shift+PageDown'],
  ['goToTab', 'Alt+1…9'],
  ['splitRight', 'Alt+Shift+='],
  ['splitDown', 'Alt+Shift+-'],
  ['focusLeft', 'Alt+Left'],
  ['focusRight', 'Alt+Right'],
  ['focusUp', 'Alt+Up'],
  ['focusDown', 'Alt+Down'],
  ['resizeLeft', 'Alt+Shift+Left'],
  ['resizeRight', 'Alt+Shift+Right'],
  ['resizeUp', 'Alt+Shift+Up'],
  ['resizeDown', 'Alt+Shift+Down'],
  ['find', 'Ctrl+Shift+F'],
  ['copy', 'Ctrl+Shift+C'],
  ['paste', 'Ctrl+Shift+V'],
  ['zoomIn', 'Ctrl+='],
  ['zoomOut', 'Ctrl+-'],
  ['zoomReset', 'Ctrl+0'],
  ['broadcast', 'Ctrl+Shift+B'],
  ['reconnect', 'Ctrl+Shift+R'],
  ['settings', 'Ctrl+,'],
  ['nextPart', 'F6'],
  ['prevPart', 'Shift+F6'],
  ['help', 'Ctrl+Shift+/'],
  ['help', 'F1'],
];

/** Key names as written in the specs, matched against KeyboardEvent.code so layouts and Shift do not change them. */
const CODES: Record<string, string> = {
  Tab: 'Tab',
  PageUp: 'PageUp',
  PageDown: 'PageDown',
  Left: 'ArrowLeft',
  Right: 'ArrowRight',
  Up: 'ArrowUp',
  Down: 'ArrowDown',
  '=': 'Equal',
  '-': 'Minus',
  '0': 'Digit0',
  ',': 'Comma',
  '/': 'Slash',
  '[': 'BracketLeft',
  ']': 'BracketRight',
  F1: 'F1',
  F6: 'F6',
};

interface Matcher {
  binding: Binding;
  ctrl: boolean;
  shift: boolean;
  alt: boolean;
  meta: boolean;
  code: string;
}

function compile(platform: Platform): Matcher[] {
  const out: Matcher[] = [];
  for (const [action, keys] of platform === 'mac' ? MAC : OTHER) {
    const parts = keys.split('+');
    const key = parts.pop()!;
    const mods = new Set(parts);
    const base = { ctrl: mods.has('Ctrl'), shift: mods.has('Shift'), alt: mods.has('Alt'), meta: mods.has('Cmd') };
    if (key === '1…9') {
      for (let n = 1; n <= 9; n++) out.push({ binding: { action, keys, arg: n }, ...base, code: `Digit${n}` });
    } else {
      out.push({ binding: { action, keys }, ...base, code: CODES[key] ?? `Key${key}` });
    }
  }
  return out;
}

const compiled: Record<Platform, Matcher[]> = { mac: compile('mac'), other: compile('other') };

/** What a key press does, or undefined when it belongs to the terminal. */
export function matchShortcut(e: KeyLike, platform: Platform): Binding | undefined {
  return compiled[platform].find(
    (m) => m.code === e.code && m.ctrl === e.ctrlKey && m.shift === e.shiftKey && m.alt === e.altKey && m.meta === e.metaKey,
  )?.binding;
}

/** The help sheet's rows: each action once, with every key that triggers it. */
export function shortcutSheet(platform: Platform): Array<{ action: ShortcutAction | 'quickConnect'; keys: string[] }> {
  // Quick connect is the app's, not the terminal's (the host list handles it), but belongs in the list.
  const rows = new Map<ShortcutAction | 'quickConnect', string[]>([['quickConnect', [platform === 'mac' ? 'Cmd+K' : 'Ctrl+K']]]);
  for (const [action, keys] of platform === 'mac' ? MAC : OTHER) rows.set(action, [...(rows.get(action) ?? []), keys]);
  return [...rows].map(([action, keys]) => ({ action, keys }));
}

export function platformOf(p: string): Platform {
  return /^(darwin|mac)/i.test(p) ? 'mac' : 'other';
}
