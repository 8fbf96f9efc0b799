/**
 * The person's locale as POSIX names it (LC_ALL, else LC_MESSAGES, else LANG: `ja_JP.UTF-8` →
 * `ja-JP`), the rule ICU itself follows for its default locale. Read from the environment rather
 * than through `Intl.DateTimeFormat().resolvedOptions()`, which maps several megabytes of ICU's
 * locale data into a process that otherwise never formats a date (the browser harness's backend:
 * the page formats with its own Intl). `C`, `POSIX`, unset or malformed → `en-US`.
 */
export function systemLocaleOf(env: NodeJS.ProcessEnv): string {
  const raw = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v !== '') ?? '';
  const name = raw.split(/[.@]/, 1)[0]!.replace(/_/g, '-');
  if (name === '' || name === 'C' || name === 'POSIX' || name.length > 35 || !/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/.test(name)) return 'en-US';
  try {
    return Intl.getCanonicalLocales(name)[0] ?? 'en-US';
  } catch {
    return 'en-US';
  }
}
