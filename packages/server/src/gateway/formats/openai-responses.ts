/**
 * OpenAI's Responses API (`POST /v1/responses`) as a client dialect.
 *
 * - To an OpenAI-format upstream the body passes through (model id swapped); nothing is rewritten but
 *   the output limit.
 * - To an Anthropic upstream it is read as the Chat Completions request it means (`responsesRequestView`:
 *   `instructions` and system/developer items → system, messages, `function_call` items → assistant tool
 *   calls, `function_call_output` items → tool results, function tools flattened → nested) and then
 *   translated by the Chat Completions → Messages translator; the answer comes back as a Response object
 *   (`anthropicResponseToResponses`) and the stream as Responses events (`stream-responses.ts`).
 * - Custom (freeform) tools, Codex's `apply_patch`, become tools taking one string (`input`, the grammar
 *   in the description); their calls come back as `custom_tool_call` items, and `custom_tool_call` /
 *   `custom_tool_call_output` input items become tool calls and results.
 * - Tool namespaces (a named group of function and custom tools, as the Codex CLI sends its sub-agent
 *   tools) are flattened: each tool is named `<namespace>__<name>` upstream, with the namespace's
 *   description before its own; calls come back under the tool's own name with `namespace`, and input
 *   items that carry a `namespace` are flattened the same way (`translatedToolNames`).
 * - The same view bounds the input for the hold, whichever the upstream: items the view cannot carry but
 *   an OpenAI upstream reads (reasoning items, client-run built-ins such as
 *   `local_shell` and their calls) are counted by their bytes, and refused with 400 in translation.
 * - Tollgate keeps no state: `previous_response_id`, `conversation`, stored `prompt`s, `item_reference`
 *   and `background` are refused with 400 `invalid_request` (the client sends the whole conversation
 *   instead). `store` is accepted and forwarded, but Tollgate itself stores nothing.
 * - Built-in tools (web search, file search, code interpreter, computer use, MCP, image generation…) pull
 *   content of unknown size into the context: refused as unmeterable, like Anthropic's server tools.
 */

import { TollgateError } from '../../shared/errors.ts';
import { randomToken } from '../../shared/ids.ts';
import { openAiRequestInput, type RequestInput } from './tokens.ts';
import { type Usage, usageFromAnthropic, ZERO_USAGE } from './usage.ts';
import type {
  AnthropicMessagesResponse,
  OpenAiChatRequest,
  OpenAiContentPart,
  OpenAiTool,
  OpenAiToolCall,
  OpenAiToolChoice,
} from './wire-types.ts';
import { isRecord } from './wire-types.ts';

/** Request fields that need a response stored on a server: Tollgate stores none. */
const STATEFUL_FIELDS = ['previous_response_id', 'conversation', 'prompt'] as const;

export interface ResponsesRequestView {
  /** The request as Chat Completions (what an Anthropic upstream gets, via the chat translator). */
  chat: OpenAiChatRequest;
  /** Items an OpenAI upstream reads that the chat view cannot carry: counted in the bound, refused in translation. */
  passthroughOnly: { what: string; value: unknown }[];
  /** `item_reference` items: content stored at the provider, of a size only the provider knows. */
  references: number;
}

function invalid(message: string, param = 'input'): TollgateError {
  return new TollgateError('invalid_request', message, { param });
}

function unmeterable(what: string, param: string): TollgateError {
  return new TollgateError(
    'invalid_request',
    `${what} cannot be metered: the gateway holds the most a request can cost before calling the provider, and the size of this input is not known until the provider has read it.`,
    { param },
  );
}

/** Refuses what needs state or a server-side tool; the checks every Responses request gets first. */
export function assertResponsesRequest(body: Record<string, unknown>): void {
  for (const field of STATEFUL_FIELDS) {
    if (body[field] !== undefined && body[field] !== null) {
      throw invalid(
        `${field} is not supported: Tollgate stores no responses or conversations. Send the whole conversation in input (and store: false).`,
        field,
      );
    }
  }
  if (body.background === true) throw invalid('background responses are not supported.', 'background');
  const input = body.input;
  const emptyArray = Array.isArray(input) && input.length === 0;
  if (!(typeof input === 'string' || Array.isArray(input)) || emptyArray || input === '') {
    throw invalid('input must be a non-empty string or array of input items.');
  }
}

function contentParts(content: unknown, role: string): string | OpenAiContentPart[] {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid(`A ${role} message needs content.`);
  return content.map((part): OpenAiContentPart => {
    if (!isRecord(part)) throw invalid('Content parts must be objects.');
    switch (part.type) {
      case 'input_text':
      case 'output_text':
      case 'text':
        return { type: 'text', text: String(part.text ?? '') };
      case 'refusal':
        return { type: 'refusal', refusal: String(part.refusal ?? '') };
      case 'input_image': {
        if (typeof part.image_url !== 'string' || part.image_url.length === 0) {
          throw unmeterable('An image by file_id', 'input');
        }
        const detail = typeof part.detail === 'string' ? part.detail : undefined;
        return { type: 'image_url', image_url: { url: part.image_url, ...(detail ? { detail } : {}) } };
      }
      case 'input_file':
        throw unmeterable('A file input', 'input');
      default:
        throw invalid(`Content part type "${String(part.type)}" is not supported.`);
    }
  });
}

function outputText(output: unknown): string {
  if (typeof output === 'string') return output;
  if (!Array.isArray(output)) return JSON.stringify(output ?? '');
  return output
    .map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : JSON.stringify(part)))
    .join('');
}

function flattenTools(body: Record<string, unknown>, view: ResponsesRequestView): OpenAiTool[] | undefined {
  if (!Array.isArray(body.tools) || body.tools.length === 0) return undefined;
  const tools: OpenAiTool[] = [];
  for (const tool of body.tools) {
    if (!isRecord(tool)) throw invalid('tools entries must be objects.', 'tools');
    if (tool.type === 'function' || tool.type === 'custom') {
      tools.push(translatedTool(tool, null));
    } else if (CLIENT_RUN_BUILT_INS.has(String(tool.type))) {
      // Run by the client, so meterable (its output comes back as input, counted); only OpenAI's
      // models know these tools.
      view.passthroughOnly.push({ what: `The built-in tool "${String(tool.type)}"`, value: tool });
    } else if (tool.type === 'namespace') {
      // A named group of tools the client runs (the Codex CLI sends its sub-agent tools so).
      if (typeof tool.name !== 'string' || tool.name.length === 0) {
        throw invalid('A tool namespace needs a name.', 'tools');
      }
      const inner = Array.isArray(tool.tools) ? tool.tools : [];
      if (inner.length === 0) throw invalid('A tool namespace needs tools.', 'tools');
      const serverTool = inner.find(
        (entry: unknown) => !isRecord(entry) || !['function', 'custom'].includes(String(entry.type)),
      );
      if (serverTool !== undefined) throw unmeterable('A tool namespace with built-in tools', 'tools');
      for (const entry of inner as Record<string, unknown>[]) tools.push(translatedTool(entry, tool));
    } else {
      throw unmeterable(`The built-in tool "${String(tool.type)}"`, 'tools');
    }
  }
  const names = new Set<string>();
  for (const tool of tools) {
    if (names.has(tool.function.name)) {
      throw invalid(`Two tools are named "${tool.function.name}" once namespaces are flattened.`, 'tools');
    }
    names.add(tool.function.name);
  }
  return tools;
}

/** Separates a namespace from its tool's name in translation (`multi_agent__spawn_agent`). */
const NAMESPACE_SEPARATOR = '__';

/** The longest tool name Anthropic's Messages API takes (`^[a-zA-Z0-9_-]{1,64}$`). */
const MAX_TRANSLATED_TOOL_NAME_LENGTH = 64;

/** The name a tool has in translation: its own, or flattened under its namespace. */
export function flattenedToolName(name: string, namespace: unknown): string {
  return typeof namespace === 'string' && namespace.length > 0
    ? `${namespace}${NAMESPACE_SEPARATOR}${name}`
    : name;
}

/** A function or custom tool (maybe inside a namespace) as a Chat Completions function tool. */
function translatedTool(
  tool: Record<string, unknown>,
  namespace: Record<string, unknown> | null,
): OpenAiTool {
  const kind = tool.type === 'custom' ? 'custom' : 'function';
  if (typeof tool.name !== 'string' || tool.name.length === 0) {
    throw invalid(`A ${kind} tool needs a name.`, 'tools');
  }
  const name = flattenedToolName(tool.name, namespace?.name);
  if (namespace && name.length > MAX_TRANSLATED_TOOL_NAME_LENGTH) {
    throw invalid(
      `The tool "${tool.name}" of namespace "${String(namespace.name)}" is named "${name}" in translation, longer than the ${MAX_TRANSLATED_TOOL_NAME_LENGTH} characters this model's provider takes.`,
      'tools',
    );
  }
  const namespaceNote =
    namespace && typeof namespace.description === 'string' && namespace.description.length > 0
      ? `${namespace.description}\n\n`
      : '';
  if (kind === 'custom') {
    // A freeform tool (Codex's apply_patch): its input is one string, maybe under a grammar. As a
    // function it takes that string as its one argument; the answer's call is turned back into a
    // custom_tool_call (customToolInput).
    return {
      type: 'function',
      function: {
        name,
        description: `${namespaceNote}${customToolDescription(tool)}`,
        parameters: {
          type: 'object',
          properties: { [CUSTOM_TOOL_ARGUMENT]: { type: 'string' } },
          required: [CUSTOM_TOOL_ARGUMENT],
          additionalProperties: false,
        },
      },
    };
  }
  const description = `${namespaceNote}${typeof tool.description === 'string' ? tool.description : ''}`;
  return {
    type: 'function',
    function: {
      name,
      ...(description ? { description } : {}),
      ...(isRecord(tool.parameters) ? { parameters: tool.parameters } : {}),
      ...(typeof tool.strict === 'boolean' ? { strict: tool.strict } : {}),
    },
  };
}

/** The one argument a custom tool's function takes in translation. */
const CUSTOM_TOOL_ARGUMENT = 'input';

/** Built-in tools the client runs (not the provider): meterable, but only OpenAI's models take them. */
const CLIENT_RUN_BUILT_INS = new Set(['local_shell', 'shell', 'apply_patch']);

function customToolDescription(tool: Record<string, unknown>): string {
  const description = typeof tool.description === 'string' ? tool.description : '';
  const format = isRecord(tool.format) ? tool.format : null;
  const grammar =
    format?.type === 'grammar' && typeof format.definition === 'string'
      ? `\n\nThe \`${CUSTOM_TOOL_ARGUMENT}\` string must follow this ${typeof format.syntax === 'string' ? format.syntax : ''} grammar:\n${format.definition}`
      : '';
  return `${description}${grammar}`.trim() || `Takes one string, \`${CUSTOM_TOOL_ARGUMENT}\`.`;
}

/** A tool as the client named it, found by the name it has in translation. */
export interface ClientTool {
  name: string;
  /** The namespace it was sent in, if any: its calls come back with it. */
  namespace: string | null;
  /** A custom (freeform) tool: its calls come back as custom_tool_call items. */
  custom: boolean;
}

/** The request's function and custom tools (namespaced ones too), by their name in translation. */
export function translatedToolNames(request: Record<string, unknown>): Map<string, ClientTool> {
  const names = new Map<string, ClientTool>();
  const add = (tool: unknown, namespace: string | null) => {
    if (!isRecord(tool) || typeof tool.name !== 'string') return;
    if (tool.type !== 'function' && tool.type !== 'custom') return;
    names.set(flattenedToolName(tool.name, namespace), {
      name: tool.name,
      namespace,
      custom: tool.type === 'custom',
    });
  };
  for (const tool of Array.isArray(request.tools) ? request.tools : []) {
    if (isRecord(tool) && tool.type === 'namespace' && typeof tool.name === 'string') {
      for (const inner of Array.isArray(tool.tools) ? tool.tools : []) add(inner, tool.name);
    } else {
      add(tool, null);
    }
  }
  return names;
}

/** A tool call item's naming fields: the client's own name, and its namespace when it has one. */
export function clientToolCallName(tools: Map<string, ClientTool>, translatedName: string) {
  const tool = tools.get(translatedName);
  if (!tool) return { custom: false, fields: { name: translatedName } };
  return {
    custom: tool.custom,
    fields: { name: tool.name, ...(tool.namespace ? { namespace: tool.namespace } : {}) },
  };
}

/** A translated custom tool call's string input, from the function arguments the model wrote. */
export function customToolInput(argumentsValue: unknown): string {
  const parsed = typeof argumentsValue === 'string' ? safeJson(argumentsValue) : argumentsValue;
  if (isRecord(parsed) && typeof parsed[CUSTOM_TOOL_ARGUMENT] === 'string') {
    return parsed[CUSTOM_TOOL_ARGUMENT] as string;
  }
  return typeof argumentsValue === 'string' ? argumentsValue : JSON.stringify(argumentsValue ?? '');
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toolChoice(choice: unknown): OpenAiToolChoice | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (
    isRecord(choice) &&
    (choice.type === 'function' || choice.type === 'custom') &&
    typeof choice.name === 'string'
  ) {
    return { type: 'function', function: { name: flattenedToolName(choice.name, choice.namespace) } };
  }
  throw invalid('Unsupported tool_choice.', 'tool_choice');
}

/** Parallel calls of one turn are one assistant message. */
function appendToolCall(messages: OpenAiChatRequest['messages'], call: OpenAiToolCall): void {
  const previous = messages.at(-1);
  if (previous?.role === 'assistant') previous.tool_calls = [...(previous.tool_calls ?? []), call];
  else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
}

/**
 * The request read as Chat Completions, for bounding its input and translating it to Anthropic.
 * Throws 400 for what cannot be metered; what only an OpenAI upstream can carry is listed apart.
 */
export function responsesRequestView(body: Record<string, unknown>): ResponsesRequestView {
  assertResponsesRequest(body);
  const view: ResponsesRequestView = {
    chat: { model: String(body.model), messages: [] },
    passthroughOnly: [],
    references: 0,
  };
  const messages = view.chat.messages;
  if (typeof body.instructions === 'string' && body.instructions.length > 0) {
    messages.push({ role: 'system', content: body.instructions });
  }
  const items = typeof body.input === 'string' ? [{ role: 'user', content: body.input }] : body.input;
  for (const item of items as unknown[]) {
    if (!isRecord(item)) throw invalid('input items must be objects.');
    const type = item.type ?? 'message';
    switch (type) {
      case 'message': {
        const role = String(item.role ?? '');
        if (!['user', 'system', 'developer', 'assistant'].includes(role)) {
          throw invalid(`Message role "${role}" is not supported.`);
        }
        const content = contentParts(item.content, role);
        if (role === 'assistant') {
          const previous = messages.at(-1);
          // Text after tool calls of the same turn stays in that turn.
          if (previous?.role === 'assistant' && previous.content === null) previous.content = content;
          else messages.push({ role, content });
        } else {
          messages.push({ role: role === 'developer' ? 'system' : role, content });
        }
        break;
      }
      case 'function_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string') {
          throw invalid('A function_call item needs call_id and name.');
        }
        const call = {
          id: item.call_id,
          type: 'function' as const,
          function: {
            name: flattenedToolName(item.name, item.namespace),
            arguments: typeof item.arguments === 'string' ? item.arguments : '{}',
          },
        };
        appendToolCall(messages, call);
        break;
      }
      case 'function_call_output':
        if (typeof item.call_id !== 'string') throw invalid('A function_call_output item needs call_id.');
        messages.push({ role: 'tool', tool_call_id: item.call_id, content: outputText(item.output) });
        break;
      case 'reasoning':
        // The provider's own reasoning of an earlier turn: an OpenAI upstream reads it again; Chat
        // Completions (and so a translated request) has no place for it.
        view.passthroughOnly.push({ what: 'reasoning', value: item });
        break;
      case 'custom_tool_call': {
        if (typeof item.call_id !== 'string' || typeof item.name !== 'string') {
          throw invalid('A custom_tool_call item needs call_id and name.');
        }
        const call = {
          id: item.call_id,
          type: 'function' as const,
          function: {
            name: flattenedToolName(item.name, item.namespace),
            arguments: JSON.stringify({ [CUSTOM_TOOL_ARGUMENT]: String(item.input ?? '') }),
          },
        };
        appendToolCall(messages, call);
        break;
      }
      case 'custom_tool_call_output':
        if (typeof item.call_id !== 'string') throw invalid('A custom_tool_call_output item needs call_id.');
        messages.push({ role: 'tool', tool_call_id: item.call_id, content: outputText(item.output) });
        break;
      case 'local_shell_call':
      case 'local_shell_call_output':
      case 'shell_call':
      case 'shell_call_output':
      case 'apply_patch_call':
      case 'apply_patch_call_output':
        view.passthroughOnly.push({ what: `A ${type} item`, value: item });
        break;
      case 'item_reference':
        // Items the provider stored from an earlier response (the AI SDK sends them for earlier
        // assistant text when `store` is on). Only an OpenAI upstream can resolve them.
        view.references += 1;
        view.passthroughOnly.push({
          what: 'item_reference (an item stored by OpenAI; send the item itself, e.g. with store: false)',
          value: item,
        });
        break;
      default:
        throw unmeterable(`An input item of type "${String(type)}"`, 'input');
    }
  }
  const tools = flattenTools(body, view);
  if (tools) view.chat.tools = tools;
  const choice = toolChoice(body.tool_choice);
  if (choice) view.chat.tool_choice = choice;
  if (typeof body.parallel_tool_calls === 'boolean') view.chat.parallel_tool_calls = body.parallel_tool_calls;
  if (typeof body.max_output_tokens === 'number') view.chat.max_tokens = body.max_output_tokens;
  if (typeof body.temperature === 'number') view.chat.temperature = body.temperature;
  if (typeof body.top_p === 'number') view.chat.top_p = body.top_p;
  if (typeof body.user === 'string') view.chat.user = body.user;
  if (body.stream === true) view.chat.stream = true;
  return view;
}

/** The view's input taken apart for counting: the chat view, plus the bytes of what only passes through. */
export function responsesRequestInput(view: ResponsesRequestView): RequestInput {
  const input = openAiRequestInput(view.chat);
  for (const extra of view.passthroughOnly) input.texts.push(JSON.stringify(extra.value));
  return input;
}

/**
 * The input bound of a request that references stored items: their size is unknown, but no provider
 * bills more input than the model's context window holds, so that is the bound (a model without a
 * known window cannot take references). Without references, the bound as counted.
 */
export function boundWithReferences(
  view: ResponsesRequestView | null,
  bound: number,
  contextWindowTokens: number | null,
): number {
  if (!view || view.references === 0) return bound;
  if (contextWindowTokens === null) {
    throw unmeterable('An item_reference to a model of unknown context window', 'input');
  }
  return Math.max(bound, contextWindowTokens);
}

/** The view, for an upstream that cannot read Responses: refuses what only passes through. */
export function translatableChat(view: ResponsesRequestView): OpenAiChatRequest {
  const first = view.passthroughOnly.find((extra) => extra.what !== 'reasoning');
  if (first) {
    throw invalid(
      `${first.what} is not supported by this model: it is served by an Anthropic-format provider, which takes function and custom tools only.`,
      first.what.includes('tool') && !first.what.includes('item') ? 'tools' : 'input',
    );
  }
  return view.chat;
}

export function responsesPassthroughRequest(
  body: Record<string, unknown>,
  upstreamModel: string,
): Record<string, unknown> {
  return { ...body, model: upstreamModel };
}

// ───────────────────────────── answers ─────────────────────────────

export function responseId(): string {
  return `resp_${randomToken(16)}`;
}

export function itemId(prefix: 'msg' | 'fc' | 'ctc' | 'rs'): string {
  return `${prefix}_${randomToken(16)}`;
}

/** Usage in the Responses shape (input includes cached, as OpenAI reports it), with the cost when known. */
export function usageToResponses(usage: Usage): Record<string, unknown> {
  const input = usage.input_tokens + usage.cached_input_tokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cached_input_tokens },
    output_tokens: usage.output_tokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + usage.output_tokens,
    ...(usage.cost !== undefined ? { cost: usage.cost } : {}),
  };
}

/** The fields of a Response that echo the request. */
export function responseEnvelope(
  request: Record<string, unknown>,
  fields: { id: string; model: string; createdSeconds: number; status: string },
): Record<string, unknown> {
  return {
    id: fields.id,
    object: 'response',
    created_at: fields.createdSeconds,
    status: fields.status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: request.instructions ?? null,
    max_output_tokens: request.max_output_tokens ?? null,
    metadata: request.metadata ?? {},
    model: fields.model,
    output: [],
    parallel_tool_calls: request.parallel_tool_calls ?? true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: request.store ?? true,
    temperature: request.temperature ?? 1,
    text: request.text ?? { format: { type: 'text' } },
    tool_choice: request.tool_choice ?? 'auto',
    tools: request.tools ?? [],
    top_p: request.top_p ?? 1,
    truncation: request.truncation ?? 'disabled',
    usage: null,
    user: request.user ?? null,
  };
}

/** Anthropic's stop reason as a Response's status and incomplete_details. */
export function responseStatus(stopReason: unknown): {
  status: 'completed' | 'incomplete';
  incomplete_details: { reason: string } | null;
} {
  if (stopReason === 'max_tokens' || stopReason === 'model_context_window_exceeded') {
    return { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } };
  }
  if (stopReason === 'refusal')
    return { status: 'incomplete', incomplete_details: { reason: 'content_filter' } };
  return { status: 'completed', incomplete_details: null };
}

/** A non-stream Anthropic Messages answer as a Response object. */
export function anthropicResponseToResponses(
  response: AnthropicMessagesResponse,
  request: Record<string, unknown>,
  options: { clientModel: string; createdSeconds?: number },
): Record<string, unknown> {
  const output: Record<string, unknown>[] = [];
  const tools = translatedToolNames(request);
  let message: { type: 'message'; content: Record<string, unknown>[]; [key: string]: unknown } | null = null;
  for (const block of Array.isArray(response.content) ? response.content : []) {
    if (!isRecord(block)) continue;
    if (block.type === 'text' && typeof block.text === 'string') {
      if (!message) {
        message = { type: 'message', id: itemId('msg'), status: 'completed', role: 'assistant', content: [] };
        output.push(message);
      }
      message.content.push({ type: 'output_text', text: block.text, annotations: [], logprobs: [] });
    } else if (block.type === 'tool_use') {
      const { custom, fields } = clientToolCallName(tools, String(block.name));
      output.push(
        custom
          ? {
              type: 'custom_tool_call',
              id: itemId('ctc'),
              call_id: String(block.id),
              ...fields,
              input: customToolInput(block.input),
              status: 'completed',
            }
          : {
              type: 'function_call',
              id: itemId('fc'),
              call_id: String(block.id),
              ...fields,
              arguments: JSON.stringify(block.input ?? {}),
              status: 'completed',
            },
      );
      message = null;
    } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      output.push({
        type: 'reasoning',
        id: itemId('rs'),
        summary: [{ type: 'summary_text', text: block.thinking }],
      });
      message = null;
    }
  }
  const usage = usageFromAnthropic(response.usage) ?? ZERO_USAGE;
  return {
    ...responseEnvelope(request, {
      id: responseId(),
      model: options.clientModel,
      createdSeconds: options.createdSeconds ?? Math.floor(Date.now() / 1000),
      status: 'completed',
    }),
    ...responseStatus(response.stop_reason),
    output,
    usage: usageToResponses(usage),
  };
}

/** The generated text of a Response object (for counting output when usage is missing). */
export function responsesAnswerText(body: Record<string, unknown>): string {
  if (!Array.isArray(body.output)) return '';
  const pieces: string[] = [];
  for (const item of body.output) {
    if (!isRecord(item)) continue;
    if (Array.isArray(item.content)) {
      for (const part of item.content) {
        if (!isRecord(part)) continue;
        if (typeof part.text === 'string') pieces.push(part.text);
        if (typeof part.refusal === 'string') pieces.push(part.refusal);
      }
    }
    if (Array.isArray(item.summary)) {
      for (const part of item.summary)
        if (isRecord(part) && typeof part.text === 'string') pieces.push(part.text);
    }
    for (const field of ['name', 'arguments', 'input'] as const) {
      if (typeof item[field] === 'string') pieces.push(item[field] as string);
    }
  }
  return pieces.join('');
}
