import type { z } from 'zod';
import { TollgateError } from './errors.ts';

/** Validates an operation's input once, where it enters; a failure is a typed `invalid_request`. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown): z.output<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.map(String).join('.');
  throw new TollgateError('invalid_request', path ? `${path}: ${issue.message}` : issue.message, {
    ...(path ? { param: path } : {}),
  });
}
