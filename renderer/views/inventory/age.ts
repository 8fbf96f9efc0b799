import type { MessageKey } from '../../../electron/contract/i18n/en';

/** A duration in the largest whole unit, for "updated 3 min ago" and "expires in 2 h". */
export function ageWords(ms: number, t: (key: MessageKey, params?: Record<string, unknown>) => string): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return t('time.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('time.m', { n: m });
  const h = Math.floor(m / 60);
  if (h < 48) return t('time.h', { n: h });
  return t('time.d', { n: Math.floor(h / 24) });
}
