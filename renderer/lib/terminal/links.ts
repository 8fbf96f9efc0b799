import { openableUrl } from '../../../electron/contract';

export { openableUrl };

/**
 * An address as the link question shows it. openableUrl's parsed form is plain ASCII already, but
 * what is shown must hide nothing whatever reaches here: a control character, a bidi override
 * (U+202E turns "moc.elpmaxe" around) or an invisible character is written out as \u{…}.
 */
export function shownUrl(url: string): string {
  return url.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}}`);
}

/**
 * Every window.open in the page asks the link question instead of opening anything (xterm.js's
 * default OSC 8 handler, a library, a stray target=_blank script). Returns the real window.open,
 * which only a yes to that question may use (the browser harness has no system browser).
 */
export function routeWindowOpen(ask: (url: string) => void): (url: string) => void {
  const real = window.open.bind(window);
  window.open = (url?: string | URL) => {
    if (url !== undefined && url !== '') ask(String(url));
    return null;
  };
  return (url) => void real(url, '_blank', 'noopener,noreferrer');
}
