import { KeylessFailure } from '../base/errors';

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: any of them in
 * a line Keyless writes could end that line early for some reader of the file (the SDK splits on
 * LF, Python's splitlines also on VT, FF, FS-RS, NEL, U+2028/9), and what follows would be read as
 * a new section or key — `credential_process` included, which the SDK and the AWS CLI run.
 */
const LINE_BREAKING = /[\p{Cc}\u2028\u2029]/u;

/** What makes a piece of text unsafe where it would go; undefined when it is safe. */
export type IniProblem = 'controlCharacter' | 'sectionName' | 'key';

export function iniProblem(place: 'section' | 'key' | 'value', text: string): IniProblem | undefined {
  if (LINE_BREAKING.test(text)) return 'controlCharacter';
  // `[a] b]` or `[a[b]` is not the section it looks like, and `]` ends the header early.
  if (place === 'section' && (/[[\]]/.test(text) || text.trim() !== text || text === '')) return 'sectionName';
  // `a = b` as a key splits at its `=`; `[` opens a section; `;` and `#` start comments.
  if (place === 'key' && (/[=[\]]/.test(text) || /^[;#]/.test(text) || /\s/.test(text) || text === '')) return 'key';
  return undefined;
}

/** The typed refusal: the file is not touched. `field` is the key (or `section`) that held it. */
export function refuse(field: string, problem: IniProblem): never {
  const what =
    problem === 'controlCharacter' ? 'holds a line break or another control character' : problem === 'sectionName' ? 'is not a usable section name ([ or ] or surrounding spaces)' : 'is not a usable key';
  throw new KeylessFailure(
    'AwsConfigValueUnsafe',
    `Keyless did not write to your AWS config: the value for ${field} ${what}, which would change what the file means. Remove it and try again.`,
    false,
    { field, step: problem },
  );
}

/**
 * One `[header]` block of `key = value` lines, as `aws configure` writes them. Every piece is
 * checked first: the first unsafe one refuses the whole block, so nothing is written at all.
 * Entries whose value is undefined or empty are left out (an empty value would open a nested
 * sub-section in the AWS config).
 */
export function iniSection(header: string, entries: ReadonlyArray<readonly [string, string | undefined]>): string {
  const headerProblem = iniProblem('section', header);
  if (headerProblem) refuse(headerProblem === 'sectionName' ? header : 'section', headerProblem);
  let text = `[${header}]\n`;
  for (const [key, value] of entries) {
    const keyProblem = iniProblem('key', key);
    if (keyProblem) refuse(key, keyProblem);
    if (value === undefined || value === '') continue;
    const valueProblem = iniProblem('value', value);
    if (valueProblem) refuse(key, valueProblem);
    text += `${key} = ${value}\n`;
  }
  return text;
}
