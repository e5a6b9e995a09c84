import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../shared/errors.ts';
import { translateRequest } from './index.ts';
import {
  anthropicResponseToResponses,
  boundWithReferences,
  responsesRequestInput,
  responsesRequestView,
} from './openai-responses.ts';
import { AnthropicToResponsesStream, ResponsesPassthroughStream } from './stream-responses.ts';
import { driveTranslator, parseFrames } from './stream-test-helpers.ts';
import { boundInputTokens, estimateInputTokens } from './tokens.ts';
import { UsageAccumulator } from './usage.ts';

function refusal(work: () => unknown): string {
  try {
    work();
  } catch (error) {
    if (isTollgateError(error)) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('not refused');
}

const CONVERSATION = {
  model: 'anthropic/claude',
  instructions: 'Be brief.',
  max_output_tokens: 300,
  tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: {} } }],
  input: [
    { role: 'user', content: [{ type: 'input_text', text: 'Weather?' }] },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'thinking about it' }] },
    { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Let me look.' }] },
    { type: 'function_call', call_id: 'call_1', name: 'get_weather', arguments: '{"city":"Paris"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'Sunny' },
  ],
};

describe('Responses requests', () => {
  it('translate to Anthropic Messages: instructions, turns, tool calls and results, flat tools', () => {
    const translated = translateRequest('responses', 'anthropic', CONVERSATION as never, {
      upstreamModel: 'claude-x',
      defaultMaxTokens: 1000,
    }) as any;
    expect(translated).toMatchObject({
      model: 'claude-x',
      system: 'Be brief.',
      max_tokens: 300,
      tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }],
    });
    expect(translated.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'call_1', name: 'get_weather', input: { city: 'Paris' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_1', content: 'Sunny' }] },
    ]);
  });

  it('pass through to OpenAI with only the model swapped', () => {
    const translated = translateRequest('responses', 'openai', CONVERSATION as never, {
      upstreamModel: 'gpt-x',
    });
    expect(translated).toEqual({ ...CONVERSATION, model: 'gpt-x' });
  });

  it('bound every byte an OpenAI upstream reads, reasoning items included, above the estimate', () => {
    const input = responsesRequestInput(responsesRequestView(CONVERSATION));
    expect(boundInputTokens(input)).toBeGreaterThanOrEqual(estimateInputTokens(input));
    expect(input.texts.join('')).toContain('thinking about it');
  });

  it('refuse what needs state or cannot be metered, with the field named', () => {
    const base = { model: 'm', input: 'hi' };
    expect(refusal(() => responsesRequestView({ ...base, previous_response_id: 'resp_1' }))).toMatch(
      /^invalid_request: previous_response_id is not supported/,
    );
    expect(refusal(() => responsesRequestView({ ...base, tools: [{ type: 'web_search' }] }))).toMatch(
      /cannot be metered/,
    );
    expect(refusal(() => responsesRequestView({ ...base, input: [] }))).toMatch(/input must be/);
    expect(refusal(() => responsesRequestView({ ...base, background: true }))).toMatch(/background/);
  });

  it('hold a reference at the context window; refuse it without one, or for a translated upstream', () => {
    const view = responsesRequestView({ model: 'm', input: [{ type: 'item_reference', id: 'msg_1' }] });
    expect(boundWithReferences(view, 40, 128_000)).toBe(128_000);
    expect(refusal(() => boundWithReferences(view, 40, null))).toMatch(/cannot be metered/);
    expect(
      refusal(() =>
        translateRequest(
          'responses',
          'anthropic',
          { model: 'm', input: [{ type: 'item_reference', id: 'x' }] } as never,
          {
            upstreamModel: 'c',
          },
        ),
      ),
    ).toMatch(/item_reference/);
  });
});

describe('Responses answers from Anthropic', () => {
  it('become a Response: reasoning, message, function call, usage and an incomplete status', () => {
    const response = anthropicResponseToResponses(
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-x',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 's' },
          { type: 'text', text: 'Hi' },
          { type: 'tool_use', id: 'toolu_1', name: 'f', input: { a: 1 } },
        ],
        stop_reason: 'max_tokens',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 2 },
      },
      { instructions: 'x' },
      { clientModel: 'anthropic/claude', createdSeconds: 1 },
    ) as any;
    expect(response).toMatchObject({
      object: 'response',
      model: 'anthropic/claude',
      status: 'incomplete',
      incomplete_details: { reason: 'max_output_tokens' },
      instructions: 'x',
      usage: {
        input_tokens: 12,
        input_tokens_details: { cached_tokens: 2 },
        output_tokens: 5,
        total_tokens: 17,
      },
    });
    expect(response.output.map((item: any) => item.type)).toEqual(['reasoning', 'message', 'function_call']);
    expect(response.output[2]).toMatchObject({ call_id: 'toolu_1', name: 'f', arguments: '{"a":1}' });
  });
});

const ANTHROPIC_STREAM = [
  ['message_start', { message: { id: 'm', usage: { input_tokens: 9, output_tokens: 1 } } }],
  ['content_block_start', { index: 0, content_block: { type: 'thinking', thinking: '' } }],
  ['content_block_delta', { index: 0, delta: { type: 'thinking_delta', thinking: 'hm' } }],
  ['content_block_stop', { index: 0 }],
  ['content_block_start', { index: 1, content_block: { type: 'text', text: '' } }],
  ['content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'Hel' } }],
  ['content_block_delta', { index: 1, delta: { type: 'text_delta', text: 'lo' } }],
  ['content_block_stop', { index: 1 }],
  [
    'content_block_start',
    { index: 2, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } },
  ],
  ['content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '{"a":' } }],
  ['content_block_delta', { index: 2, delta: { type: 'input_json_delta', partial_json: '1}' } }],
  ['content_block_stop', { index: 2 }],
  ['message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 6 } }],
  ['message_stop', {}],
]
  .map(([type, fields]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...(fields as object) })}\n\n`)
  .join('');

describe('Responses streams', () => {
  it('from Anthropic: the OpenAI event sequence, ordered, closed with the billed usage and cost', () => {
    const translator = new AnthropicToResponsesStream({ clientModel: 'anthropic/claude', request: {} });
    const frames = driveTranslator(translator, ANTHROPIC_STREAM, {
      finishUsage: { input_tokens: 9, output_tokens: 6, cached_input_tokens: 0, cost: 0.25 },
    });
    const events = parseFrames(frames).map((event) => ({ ...JSON.parse(event.data), sseEvent: event.event }));
    expect(events.every((event) => event.sseEvent === event.type)).toBe(true);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    expect(events.map((event) => event.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.reasoning_summary_part.added',
      'response.reasoning_summary_text.delta',
      'response.reasoning_summary_text.done',
      'response.reasoning_summary_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const completed = events.at(-1);
    expect(completed.response.usage).toMatchObject({ input_tokens: 9, output_tokens: 6, cost: 0.25 });
    expect(completed.response.output.map((item: any) => item.type)).toEqual([
      'reasoning',
      'message',
      'function_call',
    ]);
    expect(completed.response.output[2]).toMatchObject({ arguments: '{"a":1}', call_id: 'toolu_1' });
    expect(translator.upstreamCompleted).toBe(true);
  });

  it('passed through: the closing event waits for finish() and carries the billed usage and cost', () => {
    const upstream = [
      { type: 'response.created', sequence_number: 0, response: { model: 'gpt-x', usage: null } },
      { type: 'response.output_text.delta', sequence_number: 1, delta: 'Hi' },
      {
        type: 'response.completed',
        sequence_number: 2,
        response: {
          model: 'gpt-x',
          usage: { input_tokens: 5, output_tokens: 900, output_tokens_details: { reasoning_tokens: 3 } },
        },
      },
    ]
      .map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
      .join('');
    const translator = new ResponsesPassthroughStream({ clientModel: 'openai/gpt-x' });
    const accumulator = new UsageAccumulator({ format: 'responses' });
    const early = driveTranslator(translator, upstream, { finish: false });
    expect(parseFrames(early).map((event) => event.event)).toEqual([
      'response.created',
      'response.output_text.delta',
    ]);
    expect(JSON.parse(parseFrames(early)[0]!.data).response.model).toBe('openai/gpt-x');
    for (const event of parseFrames([upstream])) accumulator.push(event);
    expect(accumulator.result().usage).toEqual({
      input_tokens: 5,
      output_tokens: 900,
      cached_input_tokens: 0,
    });
    const closing = parseFrames(
      translator.finish({ input_tokens: 5, output_tokens: 50, cached_input_tokens: 0, cost: 1.5 }),
    );
    const completed = JSON.parse(closing[0]!.data);
    expect(completed.response.usage).toMatchObject({
      output_tokens: 50,
      cost: 1.5,
      output_tokens_details: { reasoning_tokens: 3 },
    });
    expect(completed.response.model).toBe('openai/gpt-x');
  });

  it('an upstream error event ends the stream with an error the SDKs throw on, scrubbed', () => {
    const translator = new ResponsesPassthroughStream({ clientModel: 'm', secrets: ['sk-secret-123456'] });
    const frames = driveTranslator(
      translator,
      `event: error\ndata: ${JSON.stringify({ type: 'error', code: 'bad', message: 'key sk-secret-123456 is wrong' })}\n\n`,
      { finish: false },
    );
    const [event] = parseFrames(frames);
    expect(event!.event).toBe('error');
    const payload = JSON.parse(event!.data);
    expect(payload.error.message).not.toContain('sk-secret-123456');
    expect(translator.upstreamError).not.toBeNull();
    expect(translator.finish()).toEqual([]);
  });
});

describe('Tool namespaces (the Codex CLI sends its sub-agent tools so)', () => {
  const NAMESPACED = {
    model: 'anthropic/claude',
    tools: [
      { type: 'function', name: 'shell', parameters: { type: 'object', properties: {} } },
      {
        type: 'namespace',
        name: 'agents',
        description: 'Sub-agents you can start.',
        tools: [
          {
            type: 'function',
            name: 'spawn',
            description: 'Start one.',
            parameters: { type: 'object', properties: { task: { type: 'string' } } },
          },
          { type: 'custom', name: 'note', description: 'Write a note.' },
        ],
      },
    ],
    tool_choice: { type: 'function', name: 'spawn', namespace: 'agents' },
    input: [
      { role: 'user', content: 'Split the work.' },
      { type: 'function_call', call_id: 'c1', name: 'spawn', namespace: 'agents', arguments: '{"task":"a"}' },
      { type: 'function_call_output', call_id: 'c1', output: 'started' },
      { type: 'custom_tool_call', call_id: 'c2', name: 'note', namespace: 'agents', input: 'remember' },
      { type: 'custom_tool_call_output', call_id: 'c2', output: 'noted' },
    ],
  };

  it('are flattened for an Anthropic upstream: one tool each, named <namespace>__<name>, the namespace described first', () => {
    const translated = translateRequest('responses', 'anthropic', NAMESPACED as never, {
      upstreamModel: 'claude-x',
      defaultMaxTokens: 1000,
    }) as any;
    expect(translated.tools.map((tool: any) => tool.name)).toEqual([
      'shell',
      'agents__spawn',
      'agents__note',
    ]);
    expect(translated.tools[1]).toMatchObject({
      description: 'Sub-agents you can start.\n\nStart one.',
      input_schema: { properties: { task: { type: 'string' } } },
    });
    expect(translated.tools[2].input_schema).toMatchObject({ required: ['input'] });
    expect(translated.tool_choice).toEqual({ type: 'tool', name: 'agents__spawn' });
    // Earlier calls that name their namespace are sent under the flattened name.
    const uses = translated.messages.flatMap((message: any) =>
      Array.isArray(message.content) ? message.content.filter((block: any) => block.type === 'tool_use') : [],
    );
    expect(uses.map((block: any) => [block.name, block.input])).toEqual([
      ['agents__spawn', { task: 'a' }],
      ['agents__note', { input: 'remember' }],
    ]);
  });

  it('come back under the client’s own name with its namespace, JSON and stream', () => {
    const response = anthropicResponseToResponses(
      {
        id: 'msg_1',
        type: 'message',
        role: 'assistant',
        model: 'claude-x',
        content: [
          { type: 'tool_use', id: 'toolu_1', name: 'agents__spawn', input: { task: 'b' } },
          { type: 'tool_use', id: 'toolu_2', name: 'agents__note', input: { input: 'hi' } },
          { type: 'tool_use', id: 'toolu_3', name: 'shell', input: {} },
        ],
        stop_reason: 'tool_use',
        stop_sequence: null,
        usage: { input_tokens: 10, output_tokens: 5 },
      },
      NAMESPACED,
      { clientModel: 'anthropic/claude', createdSeconds: 1 },
    ) as any;
    expect(response.output).toMatchObject([
      { type: 'function_call', name: 'spawn', namespace: 'agents', arguments: '{"task":"b"}' },
      { type: 'custom_tool_call', name: 'note', namespace: 'agents', input: 'hi' },
      { type: 'function_call', name: 'shell' },
    ]);
    expect(response.output[2]).not.toHaveProperty('namespace');

    const stream = [
      ['message_start', { message: { id: 'm', usage: { input_tokens: 9, output_tokens: 1 } } }],
      [
        'content_block_start',
        { index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'agents__spawn', input: {} } },
      ],
      [
        'content_block_delta',
        { index: 0, delta: { type: 'input_json_delta', partial_json: '{"task":"c"}' } },
      ],
      ['content_block_stop', { index: 0 }],
      ['message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 6 } }],
      ['message_stop', {}],
    ]
      .map(([type, fields]) => `event: ${type}\ndata: ${JSON.stringify({ type, ...(fields as object) })}\n\n`)
      .join('');
    const translator = new AnthropicToResponsesStream({
      clientModel: 'anthropic/claude',
      request: NAMESPACED,
    });
    const events = parseFrames(
      driveTranslator(translator, stream, {
        finishUsage: { input_tokens: 9, output_tokens: 6, cached_input_tokens: 0, cost: 0.25 },
      }),
    ).map((event) => JSON.parse(event.data));
    const added = events.find((event) => event.type === 'response.output_item.added');
    expect(added.item).toMatchObject({ type: 'function_call', name: 'spawn', namespace: 'agents' });
    const done = events.find((event) => event.type === 'response.output_item.done');
    expect(done.item).toMatchObject({ name: 'spawn', namespace: 'agents', arguments: '{"task":"c"}' });
    expect(events.at(-1).response.output[0]).toMatchObject({ name: 'spawn', namespace: 'agents' });
  });

  it('pass through unchanged to an OpenAI upstream, and count toward the bound', () => {
    expect(translateRequest('responses', 'openai', NAMESPACED as never, { upstreamModel: 'gpt-x' })).toEqual({
      ...NAMESPACED,
      model: 'gpt-x',
    });
    const withoutNamespace = { ...NAMESPACED, tools: [NAMESPACED.tools[0]] };
    expect(boundInputTokens(responsesRequestInput(responsesRequestView(NAMESPACED)))).toBeGreaterThan(
      boundInputTokens(responsesRequestInput(responsesRequestView(withoutNamespace))),
    );
  });

  it('refuse what cannot be flattened: built-in tools inside, a name clash, a name too long', () => {
    const withTools = (tools: unknown[]) => ({ ...NAMESPACED, tool_choice: undefined, tools });
    const namespace = (name: string, tools: unknown[]) => ({ type: 'namespace', name, tools });
    expect(
      refusal(() => responsesRequestView(withTools([namespace('a', [{ type: 'web_search' }])]))),
    ).toMatch(/^invalid_request: A tool namespace with built-in tools cannot be metered/);
    expect(
      refusal(() =>
        responsesRequestView(
          withTools([{ type: 'function', name: 'a__b' }, namespace('a', [{ type: 'function', name: 'b' }])]),
        ),
      ),
    ).toMatch(/Two tools are named "a__b"/);
    expect(
      refusal(() =>
        responsesRequestView(
          withTools([namespace('n'.repeat(40), [{ type: 'function', name: 'x'.repeat(30) }])]),
        ),
      ),
    ).toMatch(/longer than the 64 characters/);
    expect(refusal(() => responsesRequestView(withTools([namespace('a', [])])))).toMatch(/needs tools/);
  });
});
