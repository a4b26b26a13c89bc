import type * as z from 'zod';
import type { FieldProblem } from '../errors.ts';

export function pointer(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '/';
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** One problem per field: several broken rules on one value are joined into one message. */
export function toProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  const byPath = new Map<string, string[]>();
  for (const problem of issues.flatMap(issueProblems)) {
    const messages = byPath.get(problem.path) ?? [];
    if (!messages.includes(problem.message)) messages.push(problem.message);
    byPath.set(problem.path, messages);
  }
  return [...byPath].map(([path, messages]) => ({ path, message: messages.join('; ') }));
}

function issueProblems(issue: z.core.$ZodIssue): FieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: pointer([...issue.path, key]), message: 'is not a known field' }));
  }
  // A record's key that breaks its rule: the key's own message, not zod's "Invalid key in record".
  if (issue.code === 'invalid_key') {
    return issue.issues.map((inner) => ({ path: pointer(issue.path), message: inner.message }));
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) {
    return [{ path: pointer(issue.path), message: 'is required' }];
  }
  return [{ path: pointer(issue.path), message: issue.message }];
}
