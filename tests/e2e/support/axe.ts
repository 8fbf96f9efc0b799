import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * axe-core's serious and critical violations inside `selector`, as `rule: element` lines. axe is
 * evaluated through the DevTools protocol, which the page's Content-Security-Policy (no inline
 * scripts) does not govern, so the app is checked with its real policy in force.
 */
export async function seriousViolations(page: Page, selector: string, exclude: readonly string[] = []): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async ([sel, out]) => {
    type Result = { violations: Array<{ id: string; impact?: string | null; nodes: Array<{ target: unknown[] }> }> };
    const axe = (window as unknown as { axe: { run(context: string | object, options: object): Promise<Result> } }).axe;
    const context = out.length ? { include: [sel], exclude: out.map((o) => [o]) } : sel;
    const { violations } = await axe.run(context, { resultTypes: ['violations'] });
    return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  }, [selector, [...exclude]] as const);
}

/**
 * Switches the app's language through its own selector without moving the focus (an open dialog
 * keeps it, as it would for a person), and waits for the words to change: `addHostLabel` is the
 * Add host button's label in that language.
 */
export async function switchLanguage(page: Page, lang: string, addHostLabel: string): Promise<void> {
  await page.evaluate((l) => {
    const select = document.querySelector<HTMLSelectElement>('[data-testid=language]')!;
    select.value = l;
    select.dispatchEvent(new Event('change', { bubbles: true }));
  }, lang);
  await page.waitForFunction((l) => document.querySelector('[data-testid=add-host]')?.getAttribute('aria-label') === l, addHostLabel);
}
