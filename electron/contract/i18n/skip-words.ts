import type { SshConfigImportReport } from '../hosts';
import { format } from './error-words';

/**
 * Words for a part of ~/.ssh/config the import left out: main sends a reason code and its
 * parameters (`import.skip.<reason>`); a refused Include is worded as the file refusal it was.
 */
export function sshConfigSkipWords(catalogue: Readonly<Record<string, string>>, skipped: SshConfigImportReport['skipped'][number]): string {
  const detail = skipped.detail ?? {};
  const words =
    (skipped.reason === 'includeRefused' && typeof detail.what === 'string' ? catalogue[`error.FileRefused.${detail.what}`] : undefined) ??
    catalogue[`import.skip.${skipped.reason}`] ??
    skipped.reason;
  return format(words, { ...detail, reason: detail.what ?? '', limit: detail.limit ?? '' });
}
