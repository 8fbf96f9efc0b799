import { en, type MessageKey } from './en';
import { ja } from './ja';
import type { KeylessError } from '../../../electron/contract';

export type Locale = 'en' | 'ja';
export const catalogues: Record<Locale, Record<MessageKey, string>> = { en, ja };

/** The language a setting of `system` resolves to: Japanese for ja-*, English otherwise. */
export function resolveLocale(setting: 'system' | Locale, systemLocale: string): Locale {
  if (setting !== 'system') return setting;
  return systemLocale.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

export function format(template: string, params: Record<string, unknown> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

/** The one i18n layer: every word the UI shows goes through `t`. */
export class I18n {
  locale = $state<Locale>('en');

  t = (key: MessageKey, params?: Record<string, unknown>): string => format(catalogues[this.locale][key], params);

  /** Words for a typed error from main, filled with its detail. */
  error = (err: KeylessError): string =>
    format(catalogues[this.locale][`error.${err.code}`], { message: err.message, ...(err.detail ?? {}) });
}

export const i18n = new I18n();
