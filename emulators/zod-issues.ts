/** Turns zod issues into `{field, message}` pairs for the control API's 400 answers. */
import type { z } from 'zod';

export interface FieldIssue {
  field: string;
  message: string;
}

export function fieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    // An unknown key is the bad field itself, not the object that holds it.
    const field = issue.code === 'unrecognized_keys' ? [path, issue.keys[0]].filter(Boolean).join('.') : path;
    return { field: field === '' ? 'body' : field, message: issue.message };
  });
}

/** "first problem (and N more)", like the emulators' other validation messages. */
export function summarize(issues: FieldIssue[]): string {
  const first = issues[0]?.message ?? 'The body is invalid.';
  return issues.length > 1 ? `${first} (and ${issues.length - 1} more)` : first;
}
