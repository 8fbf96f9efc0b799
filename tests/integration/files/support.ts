import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { vi } from 'vitest';
import type { FileEntry, TransferInfo } from '../../../electron/contract';
import type { Backend } from '../../../renderer/lib/backend/backend';

const b64 = (b: Buffer | string) => (typeof b === 'string' ? Buffer.from(b) : b).toString('base64');
export { b64 };

/**
 * `bytes` of a seeded stream (AES-CTR over zeros: fast, and the same for the same seed), written
 * to `path`; answers its SHA-256, hashed as it is written.
 */
export async function writeSeeded(path: string, bytes: number, seed = 'keyless'): Promise<string> {
  const key = createHash('sha256').update(seed).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  const hash = createHash('sha256');
  const block = Buffer.alloc(1024 * 1024);
  let left = bytes;
  const source = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(left, block.length);
        left -= n;
        const out = cipher.update(n === block.length ? block : block.subarray(0, n));
        hash.update(out);
        yield out;
      }
    })(),
  );
  await pipeline(source, createWriteStream(path));
  return hash.digest('hex');
}

export async function sha256File(path: string | Buffer): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Every transfer event, the last one per transfer kept. */
export function followTransfers(backend: Backend): Map<string, TransferInfo[]> {
  const seen = new Map<string, TransferInfo[]>();
  backend.on('files.transfer', (t) => {
    const list = seen.get(t.transferId) ?? [];
    list.push(t);
    seen.set(t.transferId, list);
  });
  return seen;
}

/** Waits until the transfer is finished (done, failed, cancelled, skipped), and answers its last state. */
export async function finished(seen: Map<string, TransferInfo[]>, transferId: string, timeout = 120_000): Promise<TransferInfo> {
  let last: TransferInfo | undefined;
  await vi.waitFor(
    () => {
      last = seen.get(transferId)?.at(-1);
      if (!last || !['done', 'failed', 'cancelled', 'skipped'].includes(last.state)) throw new Error(`transfer ${transferId} is ${last?.state ?? 'unknown'}`);
    },
    { timeout, interval: 50 },
  );
  return last!;
}

/** A whole listing: the pages streamed before the answer. */
export async function listAll(backend: Backend, browserId: string, path: { path: string } | { typed: string }, requestId: string): Promise<{ entries: FileEntry[]; pages: number; result: { path: string; display: string; count: number } }> {
  const entries: FileEntry[] = [];
  let pages = 0;
  const off = backend.on('files.entries', (p) => {
    if (p.requestId !== requestId) return;
    pages++;
    entries.push(...p.entries);
  });
  try {
    const result = await backend.invoke('files.list', { browserId, requestId, ...path });
    return { entries, pages, result };
  } finally {
    off();
  }
}
