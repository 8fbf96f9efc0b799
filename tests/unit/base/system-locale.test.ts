import { describe, expect, it } from 'vitest';
import { systemLocaleOf } from '../../../electron/main/base/system-locale';

describe('systemLocaleOf (the harness backend names the person’s locale from POSIX variables)', () => {
  it('reads LC_ALL, then LC_MESSAGES, then LANG, dropping the encoding and modifier', () => {
    expect(systemLocaleOf({ LANG: 'ja_JP.UTF-8' })).toBe('ja-JP');
    expect(systemLocaleOf({ LANG: 'de_DE.UTF-8@euro', LC_MESSAGES: 'fr_CA.UTF-8' })).toBe('fr-CA');
    expect(systemLocaleOf({ LANG: 'de_DE.UTF-8', LC_MESSAGES: 'fr_CA', LC_ALL: 'ja_JP.eucJP' })).toBe('ja-JP');
    expect(systemLocaleOf({ LANG: 'zh_Hant_TW.UTF-8' })).toBe('zh-Hant-TW');
  });
  it('falls back to en-US for C, POSIX, nothing set, an empty value and malformed names', () => {
    for (const LANG of [undefined, '', 'C', 'C.UTF-8', 'POSIX', '../../etc', 'x', 'ja_JP\n[profile]', 'a'.repeat(200)]) {
      expect(systemLocaleOf({ LANG })).toBe('en-US');
    }
    expect(systemLocaleOf({ LC_ALL: '', LANG: 'ja_JP.UTF-8' })).toBe('ja-JP');
  });
});
