import type { z } from 'zod';
import type { MessageKey } from '../../../electron/contract/i18n/en';

type Translate = (key: MessageKey, params?: Record<string, unknown>) => string;

/**
 * What to fix in a form field, in our own words, from a schema issue: its code and limits, never
 * the validation library's English text ("Too small: expected string to have >=1 characters").
 * `field` is the field's label, already in the reader's language; `candidate` is what was checked,
 * so that a field left empty is asked for whatever rule it broke.
 */
export function fieldIssueWords(t: Translate, field: string, issue: z.core.$ZodIssue, candidate?: unknown): string {
  const i = issue as { code: string; origin?: string; minimum?: number | bigint; maximum?: number | bigint };
  const limit = (n: number | bigint | undefined) => (n === undefined ? '' : String(n));
  if (candidate !== undefined) {
    let v: unknown = candidate;
    for (const k of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
    if (v === undefined || (typeof v === 'string' && v.trim() === '')) return t('i18b.form.required', { field });
  }
  switch (i.code) {
    case 'too_small':
      if (i.origin === 'string') return Number(i.minimum) <= 1 ? t('i18b.form.required', { field }) : t('i18b.form.tooShort', { field, minimum: limit(i.minimum) });
      if (i.origin === 'array' || i.origin === 'set') return t('i18b.form.tooFew', { field, minimum: limit(i.minimum) });
      return t('i18b.form.tooSmall', { field, minimum: limit(i.minimum) });
    case 'too_big':
      if (i.origin === 'string') return t('i18b.form.tooLong', { field, maximum: limit(i.maximum) });
      if (i.origin === 'array' || i.origin === 'set') return t('i18b.form.tooMany', { field, maximum: limit(i.maximum) });
      return t('i18b.form.tooBig', { field, maximum: limit(i.maximum) });
    case 'invalid_type':
      return t('i18b.form.required', { field });
    case 'invalid_format':
      return t('i18b.form.format', { field });
    case 'invalid_value':
      return t('i18b.form.choice', { field });
    default:
      return t('i18b.form.invalid', { field });
  }
}
