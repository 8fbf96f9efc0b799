import type { Backend } from '../../../renderer/lib/backend/backend';

/**
 * Plays the renderer's part for terminal output: appends each session's output (bytes, as main
 * sends them) to its text in `output`, decoding UTF-8 across messages the way xterm.js does (a
 * character cut between two messages comes out whole), and acknowledges every message, after
 * `ackDelayMs()` when that is above 0 (a renderer slower than the network).
 */
export function receiveOutput(backend: Backend, output: Map<string, string>, ackDelayMs: () => number = () => 0): void {
  const decoders = new Map<string, TextDecoder>();
  backend.on('session.data', ({ sessionId, data }) => {
    let decoder = decoders.get(sessionId);
    if (!decoder) decoders.set(sessionId, (decoder = new TextDecoder()));
    output.set(sessionId, (output.get(sessionId) ?? '') + decoder.decode(data, { stream: true }));
    const ack = () => backend.notify('session.ack', { sessionId, bytes: data.byteLength });
    const delay = ackDelayMs();
    if (delay > 0) setTimeout(ack, delay);
    else ack();
  });
}
