import { describe, expect, it } from 'vitest';
import { requests } from '../../../electron/contract';
import { openableUrl, shownUrl } from '../../../renderer/lib/terminal/links';

describe('links: what may open, and how the question shows it', () => {
  it('opens only http and https without credentials, as the parsed address', () => {
    expect(openableUrl('https://example.com/x')).toBe('https://example.com/x');
    expect(openableUrl('http://10.0.0.1:8080')).toBe('http://10.0.0.1:8080/');
    expect(openableUrl('HTTPS://Example.COM/a b?q=<x>')).toBe('https://example.com/a%20b?q=%3Cx%3E');
    const bad = ['file:///etc/passwd', 'javascript:alert(1)', 'JavaScript:alert(1)', ' javascript:alert(1)', 'data:text/html,x', 'vbscript:x', 'ssh://host', 'vscode://x', 'https://user:pw@example.com', 'https://bank.example@evil.example/', 'not a url', `https://e.com/${'x'.repeat(2040)}`];
    for (const url of bad) expect(openableUrl(url), url).toBeUndefined();
  });

  it('shows a look-alike host as the host it really is, and a reversed name as the bytes it holds', () => {
    expect(openableUrl('https://аpple.com/')).toBe('https://xn--pple-43d.com/');
    expect(openableUrl('https://example.com/\u202Etxt.exe')).toBe('https://example.com/%E2%80%AEtxt.exe');
    // Tab and line breaks inside an address are dropped by the URL parser, never shown.
    expect(openableUrl('https://exa\nmple.com/a\tb')).toBe('https://example.com/ab');
  });

  it('the contract takes exactly what openableUrl takes, so main refuses the same', () => {
    const samples = ['https://example.com', 'http://a.b/c', 'file:///etc/passwd', 'javascript:alert(1)', 'https://a:b@c.d', 'x'.repeat(3000)];
    for (const url of samples) expect(requests['link.open'].args.safeParse({ url }).success, url).toBe(openableUrl(url) !== undefined);
  });

  it('writes out every control, bidi and invisible character', () => {
    expect(shownUrl('https://example.com/\u202Egpj.exe')).toBe('https://example.com/\\u{202E}gpj.exe');
    expect(shownUrl('a\u0000b\u001bc\u007fd\u0085e\u200bf\u2066g\u2028h\ufeffi')).toBe('a\\u{0000}b\\u{001B}c\\u{007F}d\\u{0085}e\\u{200B}f\\u{2066}g\\u{2028}h\\u{FEFF}i');
    expect(shownUrl('https://example.com/日本?q=1#x')).toBe('https://example.com/日本?q=1#x');
  });
});
