import type { KeylessError } from '../../../electron/contract';

export function format(template: string, params: Record<string, unknown> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/**
 * Words for a typed error from main, filled with its detail. An error that names the step it
 * failed in (`detail.step`) or its reason (`detail.reason`) gets those words when the catalogue
 * has some: a timeout while the tunnel opens is not one of a host that did not answer.
 */
export function errorWords(catalogue: Readonly<Record<string, string>>, err: KeylessError): string {
  const variant = [err.detail?.step, err.detail?.reason].find((v) => typeof v === 'string' && catalogue[`error.${err.code}.${v}`] !== undefined);
  const words = variant !== undefined ? catalogue[`error.${err.code}.${String(variant)}`] : undefined;
  return format(words ?? catalogue[`error.${err.code}`] ?? err.message, { message: err.message, ...(err.detail ?? {}) });
}
