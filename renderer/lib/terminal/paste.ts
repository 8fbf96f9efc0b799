/**
 * Text that would run something as soon as it is pasted into a shell: it holds a line break
 * (bracketed paste protects only programs that turned it on).
 */
export function isMultiLine(text: string): boolean {
  return /[\r\n]/.test(text);
}

/** Only plain web addresses leave the app, and only after the person said yes. */
export function isOpenableLink(uri: string): boolean {
  try {
    const u = new URL(uri);
    return (u.protocol === 'http:' || u.protocol === 'https:') && !u.username && !u.password;
  } catch {
    return false;
  }
}
