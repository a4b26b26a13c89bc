// The user pool's password policy (infra/lib/auth.ts), checked before Cognito is asked: the
// local cloud's Cognito does not enforce it, and on AWS it saves a round trip.

export const PASSWORD_MIN_LENGTH = 12;

const rules: readonly { readonly test: (password: string) => boolean; readonly message: string }[] = [
  { test: (password) => password.length >= PASSWORD_MIN_LENGTH, message: `at least ${PASSWORD_MIN_LENGTH} characters` },
  { test: (password) => /[a-z]/.test(password), message: 'a lower-case letter' },
  { test: (password) => /[A-Z]/.test(password), message: 'an upper-case letter' },
  { test: (password) => /\d/.test(password), message: 'a digit' },
  { test: (password) => /[^A-Za-z0-9\s]/.test(password), message: 'a symbol such as ! or -' },
];

/** Every requirement of the policy, in the words `missingFromPassword` uses. */
export const PASSWORD_REQUIREMENTS: readonly string[] = rules.map((rule) => rule.message);

/** What the password still lacks, in words; empty when it meets the policy. */
export function missingFromPassword(password: string): string[] {
  return rules.filter((rule) => !rule.test(password)).map((rule) => rule.message);
}

/** One sentence for the form, or undefined when the password is strong enough. */
export function passwordProblem(password: string): string | undefined {
  const missing = missingFromPassword(password);
  if (missing.length === 0) return undefined;
  return `Use a stronger password: it needs ${listInWords(missing)}.`;
}

function listInWords(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items.at(-1) ?? ''}`;
}

/** A plausible e-mail address: Cognito has the last word. */
export function emailProblem(email: string): string | undefined {
  if (email.trim() === '') return 'Enter your e-mail address.';
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) return 'Enter an e-mail address such as you@company.com.';
  return undefined;
}
