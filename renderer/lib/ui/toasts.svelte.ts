export type Toast = { id: number; kind: 'success' | 'info' | 'error'; text: string };

/** Short results ("Copied", "3 hosts deleted") that go away on their own; errors stay until closed. */
class Toasts {
  list = $state<Toast[]>([]);
  private next = 1;

  show(text: string, kind: Toast['kind'] = 'success', ms = 4000): void {
    const id = this.next++;
    this.list.push({ id, kind, text });
    // Only the last few stay: a burst of results does not cover the window.
    if (this.list.length > 4) this.list.shift();
    if (kind !== 'error') setTimeout(() => this.dismiss(id), ms);
  }

  dismiss(id: number): void {
    const at = this.list.findIndex((t) => t.id === id);
    if (at >= 0) this.list.splice(at, 1);
  }
}

export const toasts = new Toasts();
