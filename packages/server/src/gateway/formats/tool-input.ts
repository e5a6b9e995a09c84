import { isRecord } from './wire-types.ts';

/**
 * OpenAI tool-call `arguments` (a JSON string) as the object Anthropic expects for `input`. The text is
 * model output and may be truncated or not an object; an empty object keeps the turn valid upstream
 * rather than failing the whole conversation on one bad call.
 */
export function parseToolInput(text: unknown): Record<string, unknown> {
  if (typeof text !== 'string' || text.trim() === '') return {};
  try {
    const value = JSON.parse(text);
    return isRecord(value) ? value : {};
  } catch {
    return {};
  }
}
