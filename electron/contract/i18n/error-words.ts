import type { KeylessError } from '../errors';

export function format(template: string, params: Record<string, unknown> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/**
 * Words for a typed error from main, filled with its detail. An error that names the step it
 * failed in (`detail.step`) or its reason (`detail.reason`) gets words of their own when the
 * catalogue has some: a timeout while the tunnel opens is not one of a host that did not answer,
 * and a refused FIFO is not a refused folder. `detail.cause` names words of their own first: a
 * failure whose `reason` is the raw text AWS gave still gets words in the reader's language.
 */
export function errorWords(catalogue: Readonly<Record<string, string>>, err: KeylessError): string {
  const variant = (v: unknown) => (typeof v === 'string' ? catalogue[`error.${err.code}.${v}`] : undefined);
  const words = variant(err.detail?.cause) ?? variant(err.detail?.step) ?? variant(err.detail?.reason) ?? catalogue[`error.${err.code}`] ?? err.message;
  return format(words, { message: err.message, ...(err.detail ?? {}) });
}
