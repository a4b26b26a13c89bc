import type { z } from 'zod';
import type { FieldProblem } from '../errors.ts';

export function pointer(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '/';
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

export function toProblems(issues: readonly z.core.$ZodIssue[]): FieldProblem[] {
  return issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: pointer([...issue.path, key]), message: 'is not a known field' }));
    }
    if (issue.code === 'invalid_type' && issue.input === undefined) {
      return [{ path: pointer(issue.path), message: 'is required' }];
    }
    return [{ path: pointer(issue.path), message: issue.message }];
  });
}
