import { describe, expect, it } from 'vitest';
import { hostEntryInputSchema, hostGroupInputSchema } from '../../../electron/contract';
import { en, type MessageKey } from '../../../electron/contract/i18n/en';
import { ja } from '../../../electron/contract/i18n/ja';
import { format } from '../../../electron/contract/i18n/error-words';
import { fieldIssueWords } from '../../../renderer/lib/state/field-words';

const tr = (cat: Record<string, string>) => (key: MessageKey, params?: Record<string, unknown>) => format(cat[key]!, params);

/** The words the editors show for each field a schema refuses. */
function words(cat: Record<string, string>, result: { success: boolean; error?: { issues: Parameters<typeof fieldIssueWords>[2][] } }, candidate?: unknown) {
  return Object.fromEntries((result.error?.issues ?? []).map((i) => [i.path.join('.'), fieldIssueWords(tr(cat), i.path.join('.'), i, candidate)]));
}

describe('form validation in our own words', () => {
  const host = { kind: 'ssh', name: 'web', host: '', port: 22, user: 'me', auth: { type: 'agent' }, tags: [], notes: '', favourite: false, groupId: null };

  it('an empty required field says to fill it in, not "Too small: expected string to have >=1 characters"', () => {
    expect(words(en, hostEntryInputSchema.safeParse(host), host).host).toBe('Fill in host.');
    expect(words(ja, hostEntryInputSchema.safeParse(host), host).host).toBe('host を入力してください。');
    // A value that breaks the rule says what to check.
    const spaced = { ...host, host: 'a b' };
    expect(words(en, hostEntryInputSchema.safeParse(spaced), spaced).host).toMatch(/^host is not in a form Keyless can use/);
  });

  it('no word of the validation library reaches a person, in either language', () => {
    const bad = [
      hostEntryInputSchema.safeParse(host),
      hostEntryInputSchema.safeParse({ ...host, host: 'x'.repeat(5000), tags: Array.from({ length: 5000 }, (_, i) => `t${i}`) }),
      hostEntryInputSchema.safeParse({ ...host, kind: 'ec2', instanceId: 'nope', region: 'x y' }),
      hostGroupInputSchema.safeParse({ name: '', parentId: null, settings: { region: 'bad region\n' }, notes: 5 }),
    ];
    const all = bad.flatMap((r) => [...Object.values(words(en, r)), ...Object.values(words(ja, r))]);
    expect(all.length).toBeGreaterThan(5);
    for (const w of all) {
      expect(w).not.toMatch(/Too (small|big)|expected|Invalid|>=|<=/);
      expect(w).not.toMatch(/\{\w+\}/);
    }
  });
});
