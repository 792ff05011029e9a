// How a refusal shows what a user sent: quoted, on one line (control characters escaped)
// and cut to a readable length, so a 10 MB value cannot make a 10 MB error message.

/** Characters of a value shown in a message; longer ones end in "...". */
export const SHOWN_CHARS = 64;

/** `"web"`; `"aaaa...(300 characters)"` for a long one; newlines and tabs escaped. */
export function quote(value: string): string {
  if (value.length <= SHOWN_CHARS) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, SHOWN_CHARS))}...(${value.length} characters)`;
}
