import type { MenuEntry } from './menu-nav';

export { byLetter, isMenuKey, nextEnabled, placeMenu, type MenuAction, type MenuEntry } from './menu-nav';

type OpenMenu = { entries: MenuEntry[]; at: { x: number; y: number }; label: string; opener: HTMLElement | null };

/**
 * The one context menu of the app (right-click, a ⋯ button, Shift+F10 or the ContextMenu key).
 * Views call `open`; `MenuHost` in App draws it, moves focus into it and gives it back on close.
 */
class ContextMenus {
  current = $state<OpenMenu | undefined>(undefined);

  /** Opens at a mouse event's point, or under an element (a ⋯ button, a focused row). */
  open(entries: MenuEntry[], where: MouseEvent | HTMLElement, label: string): void {
    const opener = where instanceof HTMLElement ? where : (document.activeElement as HTMLElement | null);
    let at: { x: number; y: number };
    if (where instanceof HTMLElement) {
      const r = where.getBoundingClientRect();
      at = { x: r.left, y: r.bottom };
    } else {
      where.preventDefault();
      at = { x: where.clientX, y: where.clientY };
    }
    this.current = { entries, at, label, opener };
  }

  close(): void {
    const opener = this.current?.opener;
    this.current = undefined;
    if (opener?.isConnected) opener.focus();
  }
}

export const menus = new ContextMenus();
