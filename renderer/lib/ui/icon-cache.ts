import { mount, unmount } from 'svelte';
import { ICONS, type IconName } from './icons';

/** One drawn SVG per icon and size; every Icon after the first is a copy of it. */
const drawn = new Map<string, SVGElement>();

/**
 * The icon's SVG element, a fresh copy. Lucide's component is rendered once per icon and size and
 * its SVG kept: a copy costs a DOM clone, where each component instance costs its props, class
 * merging and effects (1,000 host rows carry a few icons each: the tree's first paint spent most
 * of its time there).
 */
export function iconElement(name: IconName, size: number): SVGElement {
  const key = `${name}:${size}`;
  let svg = drawn.get(key);
  if (!svg) {
    const host = document.createElement('span');
    const instance = mount(ICONS[name], { target: host, props: { size, strokeWidth: 1.75, 'aria-hidden': 'true' } });
    svg = host.querySelector('svg')!.cloneNode(true) as SVGElement;
    void unmount(instance);
    drawn.set(key, svg);
  }
  return svg.cloneNode(true) as SVGElement;
}
