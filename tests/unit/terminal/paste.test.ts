import { describe, expect, it } from 'vitest';
import { preparePaste, showControls } from '../../../renderer/lib/terminal/paste';

const lines = { confirmLines: true };

describe('preparePaste: what text from outside the keyboard may do in a terminal', () => {
  it('cannot end bracketed paste early: every ESC arrives as ␛, and a control character asks first', () => {
    // The bypass: ESC[201~ ends bash's bracketed paste, then Ctrl+O runs the line. No line break in it.
    const p = preparePaste('echo safe\x1b[201~; touch /tmp/pwned\x0f', lines);
    expect(p.text).toBe('echo safe\u241b[201~; touch /tmp/pwned\x0f');
    expect(p.text).not.toContain('\x1b');
    expect(p.ask).toBe('controls');
    expect(p.lines).toBe(1);
  });

  it('drops C1 controls (U+009B is CSI on its own)', () => {
    expect(preparePaste('a\u009b201~b\u0085c\u0080\u009f', lines)).toEqual({ text: 'a201~bc', lines: 1, ask: undefined });
  });

  it('pastes one plain line at once, tabs and any script included', () => {
    for (const text of ['ls -la', 'printf "%s\\t%s" a b', 'grep\tx', 'echo 日本語 😀 café', 'x'.repeat(100_000)]) {
      expect(preparePaste(text, lines), text.slice(0, 20)).toEqual({ text, lines: 1, ask: undefined });
    }
  });

  it('asks before line breaks when the setting says so, and always before other control characters', () => {
    expect(preparePaste('a\nb\r\nc\rd', lines)).toMatchObject({ lines: 4, ask: 'lines' });
    expect(preparePaste('a\nb', { confirmLines: false })).toMatchObject({ lines: 2, ask: undefined });
    expect(preparePaste('echo hi\x0f', { confirmLines: false }).ask).toBe('controls');
    expect(preparePaste('a\nrm -rf ~\x04', lines).ask).toBe('controls');
  });

  it('judges every character of the first 256 alike: no ESC or C1 gets through, and only C0 (less tab and line breaks) and DEL ask', () => {
    for (let c = 0; c < 256; c++) {
      const ch = String.fromCharCode(c);
      const p = preparePaste(`a${ch}b`, { confirmLines: false });
      // eslint-disable-next-line no-control-regex
      expect(p.text, `U+${c.toString(16)}`).not.toMatch(/[\x1b\x80-\x9f]/);
      const control = (c < 0x20 && ![0x09, 0x0a, 0x0d, 0x1b].includes(c)) || c === 0x7f;
      expect(p.ask, `U+${c.toString(16)}`).toBe(control ? 'controls' : undefined);
    }
  });

  it('is idempotent: text prepared once (as broadcast targets receive it) is unchanged by a second pass', () => {
    const once = preparePaste('x\x1b[201~\u009by\x03\nz', lines);
    expect(preparePaste(once.text, lines)).toEqual(once);
  });
});

describe('showControls: the paste question shows what the text holds', () => {
  it('draws control characters as their control pictures, and leaves tab, line breaks and ␛ as they are', () => {
    expect(showControls('a\x00b\x03c\x0fd\x1fe\x7ff')).toBe('a\u2400b\u2403c\u240fd\u241fe\u2421f');
    expect(showControls('a\tb\nc\rd\u241be')).toBe('a\tb\nc\rd\u241be');
  });
});
