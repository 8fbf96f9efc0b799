/**
 * Tab and Shift+Tab stay inside a modal dialog while it is open (the page behind it is out of
 * reach, as `aria-modal` tells assistive technology). A Svelte action: `<div use:trapFocus>`.
 */
const FOCUSABLE = 'button:not([disabled]), input:not([disabled]):not([type=hidden]), select:not([disabled]), textarea:not([disabled]), [href], [tabindex="0"]';

/** The controls Tab reaches inside `box`, in order (hidden ones left out). */
export function focusables(box: HTMLElement): HTMLElement[] {
  return [...box.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((e) => e.offsetParent !== null && e.tabIndex >= 0);
}

/** Wraps the focus from the last control to the first (and back with Shift) when Tab would leave `box`. */
export function keepTabInside(box: HTMLElement, e: KeyboardEvent): void {
  if (e.key !== 'Tab' || e.altKey || e.ctrlKey || e.metaKey) return;
  const list = focusables(box);
  if (!list.length) {
    e.preventDefault();
    return;
  }
  const first = list[0]!;
  const last = list[list.length - 1]!;
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && box.contains(active) && list.includes(active);
  if (e.shiftKey && (active === first || !inside)) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (active === last || !inside)) {
    e.preventDefault();
    first.focus();
  }
}

/**
 * The action: the dialog takes the focus when it opens (its `[data-autofocus]` control, else the
 * dialog itself, unless its own code already focused something inside), keeps Tab inside, and
 * gives the focus back to where it was when it closes — unless something else took it meanwhile
 * (or `restore` is false: quick connect, whose choice opens a terminal that takes the focus).
 */
export function trapFocus(box: HTMLElement, opts: { restore?: boolean } = {}): { destroy(): void } {
  const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const onKey = (e: KeyboardEvent) => keepTabInside(box, e);
  box.addEventListener('keydown', onKey);
  queueMicrotask(() => {
    if (!box.isConnected || box.contains(document.activeElement)) return;
    (box.querySelector<HTMLElement>('[data-autofocus]') ?? box).focus();
  });
  return {
    destroy: () => {
      box.removeEventListener('keydown', onKey);
      const now = document.activeElement;
      const unclaimed = !now || now === document.body || box.contains(now);
      if (opts.restore !== false && unclaimed && before?.isConnected) before.focus();
    },
  };
}
