// A spreadsheet runs a cell that starts with one of these as a formula (CSV injection; OWASP).
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One field as RFC 4180 wants it, defused so a spreadsheet shows it as text rather than running
 * it: a field that starts like a formula gets a leading quote, and a field holding a `;` is quoted
 * too — where a spreadsheet's list separator is `;` (German, French settings), `web;=cmd…` would
 * otherwise split into a cell of its own that starts with `=`. The inventory's, the audit's and a
 * fleet run's exports all write their fields through this.
 */
export function csvField(value: string): string {
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
