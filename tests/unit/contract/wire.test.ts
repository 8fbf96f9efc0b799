import { describe, expect, it } from 'vitest';
import { decodeBinaryEvent, encodeBinaryEvent } from '../../../electron/contract';

const slice = (u: Uint8Array) => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

describe('binary event frames (terminal output over the harness WebSocket)', () => {
  it('carries the payload and its bytes unchanged, a character cut at the end included', () => {
    const text = Buffer.from('ls -l\r\nこんにちは 🙂');
    const cut = text.subarray(0, text.length - 2); // the emoji's last two bytes come in the next message
    const frame = encodeBinaryEvent('session.data', { sessionId: 's7', data: cut });
    const got = decodeBinaryEvent(slice(frame));
    expect(got?.ev).toBe('session.data');
    expect(got?.payload.sessionId).toBe('s7');
    expect(Buffer.from(got!.payload.data).equals(cut)).toBe(true);
  });

  it('an empty body and a large one', () => {
    expect(decodeBinaryEvent(slice(encodeBinaryEvent('session.data', { sessionId: 's1', data: new Uint8Array(0) })))?.payload.data.byteLength).toBe(0);
    const big = new Uint8Array(1 << 20).map((_, i) => i & 0xff);
    const got = decodeBinaryEvent(slice(encodeBinaryEvent('session.data', { sessionId: 's1', data: big })));
    // Compared as bytes: toEqual walks a typed array index by index, seconds for 1 MiB on a busy machine.
    expect(got?.payload.data.byteLength).toBe(big.byteLength);
    expect(Buffer.compare(got!.payload.data, big)).toBe(0);
  });

  it('refuses what is not such a frame', () => {
    expect(decodeBinaryEvent(new ArrayBuffer(2))).toBeUndefined();
    const lying = new Uint8Array(8);
    new DataView(lying.buffer).setUint32(0, 1000); // a header longer than the message
    expect(decodeBinaryEvent(lying.buffer)).toBeUndefined();
    const notJson = new Uint8Array([0, 0, 0, 3, 0x7b, 0x7b, 0x7b]);
    expect(decodeBinaryEvent(notJson.buffer)).toBeUndefined();
    const result = new TextEncoder().encode(JSON.stringify({ t: 'result', id: 1 }));
    const wrongKind = new Uint8Array(4 + result.length);
    new DataView(wrongKind.buffer).setUint32(0, result.length);
    wrongKind.set(result, 4);
    expect(decodeBinaryEvent(wrongKind.buffer)).toBeUndefined();
  });
});
