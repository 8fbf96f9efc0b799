import { describe, expect, it } from 'vitest';
import { matchShortcut, platformOf, shortcutSheet, type KeyLike } from '../../../renderer/lib/terminal/shortcuts';

const key = (code: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key: '', code, ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, ...mods });

describe('keyboard shortcuts follow each platform', () => {
  it('Linux and Windows: Ctrl+Shift, so plain Ctrl keys still reach the shell', () => {
    expect(matchShortcut(key('KeyT', { ctrlKey: true, shiftKey: true }), 'other')?.action).toBe('newTab');
    expect(matchShortcut(key('Tab', { ctrlKey: true }), 'other')?.action).toBe('nextTab');
    expect(matchShortcut(key('Tab', { ctrlKey: true, shiftKey: true }), 'other')?.action).toBe('prevTab');
    expect(matchShortcut(key('Digit3', { altKey: true }), 'other')).toMatchObject({ action: 'goToTab', arg: 3 });
    expect(matchShortcut(key('ArrowLeft', { altKey: true }), 'other')?.action).toBe('focusLeft');
    // Ctrl+C, Ctrl+T, Ctrl+W, Ctrl+R belong to the shell.
    for (const code of ['KeyC', 'KeyT', 'KeyW', 'KeyR', 'KeyD', 'KeyF']) expect(matchShortcut(key(code, { ctrlKey: true }), 'other')).toBeUndefined();
  });

  it('macOS: Cmd', () => {
    expect(matchShortcut(key('KeyT', { metaKey: true }), 'mac')?.action).toBe('newTab');
    expect(matchShortcut(key('KeyD', { metaKey: true }), 'mac')?.action).toBe('splitRight');
    expect(matchShortcut(key('KeyD', { metaKey: true, shiftKey: true }), 'mac')?.action).toBe('splitDown');
    expect(matchShortcut(key('KeyC', { ctrlKey: true }), 'mac')).toBeUndefined();
    expect(platformOf('darwin')).toBe('mac');
    expect(platformOf('MacIntel')).toBe('mac');
    expect(platformOf('linux')).toBe('other');
  });

  it('F6 and Shift+F6 move between the window\'s parts on both platforms (Tab stays the shell\'s)', () => {
    for (const platform of ['mac', 'other'] as const) {
      expect(matchShortcut(key('F6'), platform)?.action).toBe('nextPart');
      expect(matchShortcut(key('F6', { shiftKey: true }), platform)?.action).toBe('prevPart');
      expect(matchShortcut(key('Tab'), platform)).toBeUndefined();
    }
  });

  it('the help sheet lists every action once, with all its keys', () => {
    const sheet = shortcutSheet('other');
    expect(new Set(sheet.map((r) => r.action)).size).toBe(sheet.length);
    expect(sheet.find((r) => r.action === 'nextTab')?.keys).toEqual(['Ctrl+Tab', 'Ctrl+PageDown']);
    expect(shortcutSheet('mac').map((r) => r.action)).toEqual(sheet.map((r) => r.action));
  });

  it('the help sheet (F1) lists quick connect, Ctrl+K (Cmd+K on a Mac), first', () => {
    expect(shortcutSheet('other')[0]).toEqual({ action: 'quickConnect', keys: ['Ctrl+K'] });
    expect(shortcutSheet('mac')[0]).toEqual({ action: 'quickConnect', keys: ['Cmd+K'] });
  });

  it('no two actions share a key', () => {
    for (const platform of ['mac', 'other'] as const) {
      const seen = new Map<string, string>();
      for (const code of ['KeyT', 'KeyW', 'KeyD', 'KeyF', 'KeyB', 'KeyR', 'KeyC', 'KeyV', 'Tab', 'PageUp', 'PageDown', 'ArrowLeft', 'ArrowRight', 'ArrowUp', 'ArrowDown', 'Equal', 'Minus', 'Digit0', 'Digit1', 'Slash', 'Comma', 'BracketLeft', 'BracketRight', 'F1']) {
        for (let m = 0; m < 16; m++) {
          const k = key(code, { ctrlKey: !!(m & 1), shiftKey: !!(m & 2), altKey: !!(m & 4), metaKey: !!(m & 8) });
          const hit = matchShortcut(k, platform);
          if (hit) {
            const id = `${code}/${m}`;
            expect(seen.has(id), `${platform} ${id}`).toBe(false);
            seen.set(id, hit.action);
          }
        }
      }
    }
  });
});
