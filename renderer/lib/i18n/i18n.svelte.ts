import { en, type MessageKey } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import type { KeylessError } from '../../../electron/contract';
import { errorWords, format } from '../../../electron/contract/i18n/error-words';
import { sshConfigSkipWords } from '../../../electron/contract/i18n/skip-words';
import type { SshConfigImportReport } from '../../../electron/contract/hosts';

export type Locale = 'en' | 'ja';
export const catalogues: Record<Locale, Record<MessageKey, string>> = { en, ja };

/** The language a setting of `system` resolves to: Japanese for ja-*, English otherwise. */
export function resolveLocale(setting: 'system' | Locale, systemLocale: string): Locale {
  if (setting !== 'system') return setting;
  return systemLocale.toLowerCase().startsWith('ja') ? 'ja' : 'en';
}

/** The one i18n layer: every word the UI shows goes through `t`. */
export class I18n {
  locale = $state<Locale>('en');

  t = (key: MessageKey, params?: Record<string, unknown>): string => format(catalogues[this.locale][key], params);

  /** Words for a typed error from main, filled with its detail (see `errorWords`). */
  error = (err: KeylessError): string => errorWords(catalogues[this.locale], err);

  /** Why a part of ~/.ssh/config was not imported (main sends a code and its parameters). */
  skipped = (s: SshConfigImportReport['skipped'][number]): string => sshConfigSkipWords(catalogues[this.locale], s);
}

export const i18n = new I18n();
