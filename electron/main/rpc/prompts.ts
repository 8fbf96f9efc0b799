import type { Prompt } from '../../contract';
import { KeylessFailure } from '../base/errors';
import type { PeerContext } from '../rpc/contract-server';

type PromptBody = Prompt extends infer P ? (P extends Prompt ? Omit<P, 'promptId'> : never) : never;
type Answer = string | boolean | null;

/**
 * Questions main asks the person (unknown host key, key passphrase): sent as a `prompt` event to
 * the peer that started the operation, answered with `prompt.answer` from that same peer only.
 */
export class Prompts {
  private next = 1;
  private readonly waiting = new Map<string, { peerId: string; resolve: (a: Answer) => void }>();

  ask(peer: PeerContext, body: PromptBody, signal: AbortSignal): Promise<Answer> {
    const promptId = `p${this.next++}`;
    return new Promise<Answer>((resolve, reject) => {
      const onAbort = () => {
        this.waiting.delete(promptId);
        reject(new KeylessFailure('Cancelled', 'The question was withdrawn.', true));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting.set(promptId, {
        peerId: peer.peerId,
        resolve: (a) => {
          signal.removeEventListener('abort', onAbort);
          resolve(a);
        },
      });
      peer.emit('prompt', { ...body, promptId } as Prompt);
    });
  }

  answer(peer: PeerContext, promptId: string, value: Answer): void {
    const w = this.waiting.get(promptId);
    if (!w || w.peerId !== peer.peerId) throw new KeylessFailure('NotFound', 'No such question is waiting for an answer.');
    this.waiting.delete(promptId);
    w.resolve(value);
  }
}
