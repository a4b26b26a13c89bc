import { describe, expect, it } from 'vitest';
import { emailProblem, missingFromPassword, passwordProblem } from './password.ts';

describe('the password policy, checked before Cognito', () => {
  it('accepts a password with 12+ characters, both cases, a digit and a symbol', () => {
    expect(passwordProblem('Correct-Horse-9')).toBeUndefined();
  });

  it('lists everything a weak password lacks, in words', () => {
    expect(missingFromPassword('short')).toEqual(['at least 12 characters', 'an upper-case letter', 'a digit', 'a symbol such as ! or -']);
    expect(passwordProblem('alllowercaseletters')).toBe(
      'Use a stronger password: it needs an upper-case letter, a digit and a symbol such as ! or -.',
    );
  });

  it('does not count a space as a symbol', () => {
    expect(missingFromPassword('Abcdefghij 12')).toEqual(['a symbol such as ! or -']);
  });

  it('asks for an e-mail address that looks like one', () => {
    expect(emailProblem('')).toBe('Enter your e-mail address.');
    expect(emailProblem('me@localhost')).toBe('Enter an e-mail address such as you@company.com.');
    expect(emailProblem(' ada@example.com ')).toBeUndefined();
  });
});
