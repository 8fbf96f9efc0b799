/**
 * F6 and Shift+F6 move the focus between the window's parts — the side bar, the view switcher,
 * the view shown — as in VS Code and the browsers. It is the keyboard's way out of a terminal,
 * where Tab belongs to the shell. Parts are the visible elements marked `data-focus-part`, in
 * document order. A part gives the focus to its `data-focus-entry` element (the view switcher's
 * current view), else back where it was left, else to its first control.
 */
const TABBABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea:not([disabled]), a[href], summary, [tabindex]:not([tabindex="-1"])';

const left = new WeakMap<Element, HTMLElement>();

const shown = (el: Element) => el.getClientRects().length > 0;

/** Remembers where the focus was in its part (a window focusin listener). */
export function rememberPartFocus(e: FocusEvent): void {
  const el = e.target;
  if (!(el instanceof HTMLElement)) return;
  const part = el.closest('[data-focus-part]');
  if (part) left.set(part, el);
}

/** Focuses the next (1) or previous (-1) part; false when a modal dialog holds the focus. */
export function focusPart(step: 1 | -1): boolean {
  const active = document.activeElement;
  if (active?.closest('[aria-modal="true"]')) return false;
  const parts = [...document.querySelectorAll<HTMLElement>('[data-focus-part]')].filter(shown);
  if (!parts.length) return false;
  const at = parts.findIndex((p) => p.contains(active));
  const part = parts[at < 0 ? (step > 0 ? 0 : parts.length - 1) : (at + step + parts.length) % parts.length]!;
  const entry = part.querySelector<HTMLElement>('[data-focus-entry]');
  const back = left.get(part);
  const to = entry && shown(entry) ? entry : back?.isConnected && part.contains(back) && shown(back) ? back : [...part.querySelectorAll<HTMLElement>(TABBABLE)].find(shown);
  (to ?? part).focus();
  return true;
}
