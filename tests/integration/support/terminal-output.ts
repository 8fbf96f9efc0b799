/**
 * Appends each session's output (bytes, as main sends them) to its text in `output`, decoding
 * UTF-8 across chunks the way xterm.js does: a character cut between two messages comes out whole.
 */
export function collectOutput(output: Map<string, string>): (sessionId: string, data: Uint8Array) => void {
  const decoders = new Map<string, TextDecoder>();
  return (sessionId, data) => {
    let decoder = decoders.get(sessionId);
    if (!decoder) decoders.set(sessionId, (decoder = new TextDecoder()));
    output.set(sessionId, (output.get(sessionId) ?? '') + decoder.decode(data, { stream: true }));
  };
}
