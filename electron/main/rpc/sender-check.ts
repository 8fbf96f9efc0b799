/** The parts of an Electron IPC event that say who sent it (structural, so this stays plain Node). */
export interface SenderFacts {
  sender: unknown;
  senderFrame: { url: string } | null;
}
export interface WindowFacts {
  webContents: unknown;
  mainFrame: unknown;
}

/**
 * A call is ours only when it comes from our window's web contents, from its main frame (not an
 * iframe), and from a page of our own origin. Everything else is refused as ForeignSender.
 */
export function isOwnSender(event: SenderFacts, window: WindowFacts, appOrigin: string): boolean {
  const frame = event.senderFrame;
  if (event.sender !== window.webContents || frame === null || frame !== window.mainFrame) return false;
  try {
    // Compare scheme and host: a custom scheme such as app:// has an opaque `origin` ("null").
    const page = new URL(frame.url);
    const ours = new URL(appOrigin);
    return page.protocol === ours.protocol && page.host === ours.host;
  } catch {
    return false;
  }
}
