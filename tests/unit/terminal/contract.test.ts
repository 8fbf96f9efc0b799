import { describe, expect, it } from 'vitest';
import { requests, sessionStateSchema, settingsSchema, terminalSettingsSchema } from '../../../electron/contract';

describe('the terminal part of the contract', () => {
  it('a settings file from before terminal settings still parses, and gets every default', () => {
    const old = settingsSchema.parse({ language: 'ja' });
    expect(old.terminal).toBeUndefined();
    const t = terminalSettingsSchema.parse(old.terminal ?? {});
    expect(t).toMatchObject({ fontSize: 14, theme: 'system', scrollback: 10_000, copyOnSelect: false, confirmMultiLinePaste: true, recordInput: false, webgl: true });
    expect(settingsSchema.safeParse({ language: 'en', terminal: { fontSize: 200 } }).success).toBe(false);
  });

  it('settings.set with only a language leaves the terminal settings alone', () => {
    expect(requests['settings.set'].args.parse({ language: 'en' })).toEqual({ language: 'en' });
  });

  it('link.open takes only http(s) addresses without credentials', () => {
    const ok = (url: string) => requests['link.open'].args.safeParse({ url }).success;
    expect(ok('https://example.com')).toBe(true);
    for (const bad of ['file:///etc/passwd', 'javascript:alert(1)', 'https://a:b@example.com', 'vscode://x', 'x'.repeat(3000)]) expect(ok(bad), bad).toBe(false);
  });

  it('recordings are named by main: no paths in recording.read', () => {
    const ok = (name: string) => requests['recording.read'].args.safeParse({ name }).success;
    expect(ok('web-20260101-000000-s1.cast')).toBe(true);
    for (const bad of ['../a.cast', '/etc/passwd', 'a.cast/..', '.cast', 'a.txt']) expect(ok(bad), bad).toBe(false);
  });

  it('session.stats asks about one session id, and a tab can be reconnecting', () => {
    expect(requests['session.stats'].args.safeParse({ sessionId: 's1' }).success).toBe(true);
    expect(requests['session.stats'].args.safeParse({ sessionId: 's1', extra: 1 }).success).toBe(false);
    expect(sessionStateSchema.options).toContain('reconnecting');
  });
});
