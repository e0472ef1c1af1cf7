/**
 * Fields of the run form whose typed text was refused. The experiment keeps each one's last good value, so Run
 * would silently use a value the box no longer shows; Run stays disabled while any is listed.
 */
import { createStore } from 'zustand/vanilla';
import type { UrlKeyName } from '../../core/experiment/url';

export interface FieldErrors {
  /** Field key → its label, for every field whose text is refused now. */
  invalid: Partial<Record<UrlKeyName, string>>;
  set(key: UrlKeyName, label: string, invalid: boolean): void;
}

export const fieldErrorsStore = createStore<FieldErrors>()((set) => ({
  invalid: {},
  set: (key, label, invalid) =>
    set((s) => {
      if (invalid === key in s.invalid) return s;
      const next = { ...s.invalid };
      if (invalid) next[key] = label;
      else delete next[key];
      return { invalid: next };
    }),
}));

/**
 * A schema or codec message in plain words: "Too big: expected number to be <=16" → "Too big: at most 16.",
 * "must be a decimal number, got "x"" → "Not a number: "x"." Messages it does not know pass unchanged.
 */
export function friendlyFieldMessage(message: string): string {
  const oneOf = message.match(/^must be one of (.*); got (.*)$/);
  if (oneOf) return `Must be one of ${oneOf[1]}, not ${oneOf[2]}.`;
  const parts = message.split('; ').map((m) => {
    let r: RegExpMatchArray | null;
    if ((r = m.match(/^Too big: expected \w+ to (?:be |have )?(<=?)\s*([-\d.e+]+)/))) return `Too big: ${r[1] === '<' ? 'below' : 'at most'} ${r[2]}.`;
    if ((r = m.match(/^Too small: expected \w+ to (?:be |have )?(>=?)\s*([-\d.e+]+)/))) return `Too small: ${r[1] === '>' ? 'above' : 'at least'} ${r[2]}.`;
    if (/^Invalid input: expected int/.test(m)) return 'Must be a whole number.';
    if ((r = m.match(/^must be an integer, got (.*)$/))) return `Must be a whole number, not ${r[1]}.`;
    if ((r = m.match(/^must be a decimal number, got (.*)$/))) return `Must be a number, not ${r[1]}.`;
    return m;
  });
  return [...new Set(parts)].join(' ');
}
