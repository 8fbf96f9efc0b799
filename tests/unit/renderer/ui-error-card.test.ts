import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../../electron/contract';
import { en } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { errorFixes, errorKind } from '../../../renderer/lib/ui/error-card';

describe('error cards', () => {
  it('every error code gets a titled kind that both catalogues word', () => {
    for (const code of ERROR_CODES) {
      const key = `ui.error.${errorKind(code)}`;
      expect(en[key as keyof typeof en], code).toBeTruthy();
      expect(ja[key as keyof typeof ja], code).toBeTruthy();
    }
    expect(errorKind('ConnectionRefused')).toBe('reach');
    expect(errorKind('AwsAccessDenied')).toBe('aws');
    expect(errorKind('HostKeyMismatch')).toBe('hostKey');
    expect(errorKind('PushedKeyRefused')).toBe('login');
  });
  it('offers to copy a policy or command from the detail, and nothing that is not a string', () => {
    const policy = '{"Version":"2012-10-17"}';
    expect(errorFixes({ code: 'AwsAccessDenied', message: 'x', retryable: false, detail: { policy, command: 42 } })).toEqual([{ kind: 'policy', text: policy }]);
    expect(errorFixes({ code: 'Timeout', message: 'x', retryable: true })).toEqual([]);
  });
});
