/**
 * Input-token counts for requests in either dialect, used to size a hold before the upstream reports
 * real usage. Runs on every request, so it is built for speed:
 *
 * - The o200k_base ranks come from the js-tiktoken package and are loaded once, lazily (or eagerly via
 *   `warmTokenizer()` at startup — building the table takes ~100 ms).
 * - It counts, never materialises token arrays, and visits each string once.
 * - js-tiktoken's own `encode` merges pairs by re-joining every byte pair on each step, which is
 *   quadratic per piece: a 10,000-letter "word" takes ~11 s there and would stall the event loop. Here a
 *   piece is looked up whole first (almost every piece is one token), and only unknown pieces run a
 *   count-only byte-pair merge driven by a heap, O(n log n) in the piece length.
 *   Tests check the counts against js-tiktoken's encoder token for token.
 *
 * Counts are estimates of what the provider will bill (Anthropic's tokenizer differs from OpenAI's), so
 * a hold is sized from `boundInputTokens` instead: UTF-8 bytes, which no byte-level BPE tokenizer can
 * exceed, and needs no tokenizing at all. The estimate stands in for input the provider never reports.
 */
import { createRequire } from 'node:module';
import { TollgateError } from '../../shared/errors.ts';
import type {
  AnthropicContentBlock,
  AnthropicMessagesRequest,
  AnthropicTool,
  ApiFormat,
  OpenAiChatRequest,
  OpenAiContentPart,
  OpenAiTool,
} from './wire-types.ts';
import { isRecord } from './wire-types.ts';

/**
 * One image, whatever its size: the upper end of what either provider bills for a single image
 * (Anthropic downsizes to ~1.15 megapixels ≈ 1,568 tokens; OpenAI high detail tops out near 1,105), so
 * a hold never under-reserves for images. OpenAI's `detail: "low"` is billed at a flat 85.
 */
export const IMAGE_TOKEN_ESTIMATE = 1_600;
export const LOW_DETAIL_IMAGE_TOKEN_ESTIMATE = 85;
/** Framing tokens around each message (OpenAI's published counting recipe: 3 per message, 1 per name). */
export const TOKENS_PER_MESSAGE = 3;
export const TOKENS_PER_NAME = 1;
/** Tokens that prime the assistant's reply, counted once per request. */
export const REPLY_PRIMING_TOKENS = 3;
/** Framing around each tool definition and each tool call, beyond their name, description and JSON. */
export const TOKENS_PER_TOOL = 8;
/** Characters per token for content we do not tokenize (audio, documents, unknown parts). */
const OPAQUE_CHARACTERS_PER_TOKEN = 4;
/** Longest byte run merged at once, bounding scratch memory; longer pieces are merged in slices (each
 *  slice boundary can add at most one token, so the error is below 0.03%). */
const MAX_MERGE_BYTES = 4_096;
/** Below this many bytes the rescanning merge beats the heap (measured: base64 and identifiers). */
const SHORT_PIECE_BYTES = 48;
const scratchStarts = new Int32Array(SHORT_PIECE_BYTES + 1);
const scratchPairRanks = new Float64Array(SHORT_PIECE_BYTES);
/** Unknown pieces recur (identifiers, non-English words); remember their counts, bounded. */
const MERGE_CACHE_LIMIT = 50_000;

interface RankFile {
  pat_str: string;
  special_tokens: Record<string, number>;
  bpe_ranks: string;
}

class TokenCounter {
  /** Token bytes as a "binary" string (one char per byte) → rank. ASCII text is its own key. */
  private readonly ranks = new Map<string, number>();
  private readonly pattern: RegExp;
  private readonly mergeCache = new Map<string, number>();

  constructor(file: RankFile) {
    this.pattern = new RegExp(file.pat_str, 'gu');
    // Each line of the rank file is "<prefix> <first rank> <base64 token> <base64 token> …".
    for (const line of file.bpe_ranks.split('\n')) {
      if (!line) continue;
      const fields = line.split(' ');
      const firstRank = Number.parseInt(fields[1], 10);
      for (let index = 2; index < fields.length; index += 1) {
        this.ranks.set(Buffer.from(fields[index], 'base64').toString('latin1'), firstRank + index - 2);
      }
    }
  }

  count(text: string): number {
    if (text.length === 0) return 0;
    const pattern = this.pattern;
    pattern.lastIndex = 0;
    let total = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const piece = match[0];
      if (piece.length === 0) {
        pattern.lastIndex += 1;
        continue;
      }
      total += this.countPiece(piece);
    }
    return total;
  }

  private countPiece(piece: string): number {
    const key = isAscii(piece) ? piece : Buffer.from(piece, 'utf8').toString('latin1');
    if (this.ranks.has(key)) return 1;
    const cached = this.mergeCache.get(key);
    if (cached !== undefined) return cached;
    let count = 0;
    if (key.length <= MAX_MERGE_BYTES) count = this.mergeCount(key);
    else {
      for (let offset = 0; offset < key.length; offset += MAX_MERGE_BYTES) {
        const slice = key.slice(offset, offset + MAX_MERGE_BYTES);
        let sliceCount = this.mergeCache.get(slice);
        if (sliceCount === undefined) {
          sliceCount = this.mergeCount(slice);
          this.remember(slice, sliceCount);
        }
        count += sliceCount;
      }
    }
    this.remember(key, count);
    return count;
  }

  private remember(key: string, count: number): void {
    if (this.mergeCache.size >= MERGE_CACHE_LIMIT) this.mergeCache.clear();
    this.mergeCache.set(key, count);
  }

  /**
   * Byte-pair merge that only counts: repeatedly join the adjacent pair with the lowest rank (the
   * leftmost on ties, as tiktoken does) until no adjacent pair is a token. Parts are a linked list over
   * byte offsets and candidate pairs sit in a min-heap keyed by (rank, start), so a piece of n bytes
   * costs O(n log n) instead of the O(n²) rescans of a naive merge. Heap entries go stale when a
   * neighbour merges; a popped entry counts only if its pair still spans exactly [start, end).
   */
  private mergeCount(bytes: string): number {
    const length = bytes.length;
    if (length <= 1) return length;
    if (length === 2) return this.ranks.has(bytes) ? 1 : 2;
    if (length <= SHORT_PIECE_BYTES) return this.scanMergeCount(bytes);
    // next[start] is where the part beginning at `start` ends (= the next part's start).
    const next = new Int32Array(length + 1);
    const previous = new Int32Array(length + 1);
    for (let index = 0; index <= length; index += 1) {
      next[index] = index + 1;
      previous[index] = index - 1;
    }
    const heap = new PairHeap();
    for (let index = 0; index + 2 <= length; index += 1) {
      const rank = this.ranks.get(bytes.slice(index, index + 2));
      if (rank !== undefined) heap.push(rank, index, index + 2);
    }
    let parts = length;
    while (heap.size > 0) {
      const start = heap.topStart();
      const end = heap.topEnd();
      heap.pop();
      const right = next[start];
      // Stale: `start` was absorbed by its left neighbour, or the pair no longer ends at `end`.
      if (right >= length || previous[right] !== start || next[right] !== end) continue;
      if (start > 0 && next[previous[start]] !== start) continue;
      next[start] = end;
      if (end <= length) previous[end] = start;
      parts -= 1;
      const left = previous[start];
      if (left >= 0) {
        const rank = this.ranks.get(bytes.slice(left, end));
        if (rank !== undefined) heap.push(rank, left, end);
      }
      if (end < length) {
        const after = next[end];
        const rank = this.ranks.get(bytes.slice(start, after));
        if (rank !== undefined) heap.push(rank, start, after);
      }
    }
    return parts;
  }

  /**
   * The same merge for short pieces (most unknown words), by rescanning pair ranks in reused scratch
   * arrays: quadratic, but without the heap's allocations, which dominate at this size.
   */
  private scanMergeCount(bytes: string): number {
    const length = bytes.length;
    const starts = scratchStarts;
    const pairRanks = scratchPairRanks;
    for (let index = 0; index <= length; index += 1) starts[index] = index;
    for (let index = 0; index + 1 < length; index += 1) {
      pairRanks[index] = this.ranks.get(bytes.slice(index, index + 2)) ?? Number.POSITIVE_INFINITY;
    }
    let parts = length;
    while (parts > 1) {
      let lowestRank = Number.POSITIVE_INFINITY;
      let lowestIndex = -1;
      for (let index = 0; index + 1 < parts; index += 1) {
        if (pairRanks[index] < lowestRank) {
          lowestRank = pairRanks[index];
          lowestIndex = index;
        }
      }
      if (lowestIndex === -1) break;
      // Drop the boundary between the merged parts and the pair rank that described it.
      starts.copyWithin(lowestIndex + 1, lowestIndex + 2, parts + 1);
      pairRanks.copyWithin(lowestIndex, lowestIndex + 1, parts - 1);
      parts -= 1;
      if (lowestIndex > 0) {
        pairRanks[lowestIndex - 1] =
          this.ranks.get(bytes.slice(starts[lowestIndex - 1], starts[lowestIndex + 1])) ??
          Number.POSITIVE_INFINITY;
      }
      if (lowestIndex + 1 < parts) {
        pairRanks[lowestIndex] =
          this.ranks.get(bytes.slice(starts[lowestIndex], starts[lowestIndex + 2])) ??
          Number.POSITIVE_INFINITY;
      }
    }
    return parts;
  }
}

/** Min-heap of candidate pairs ordered by (rank, start), in parallel arrays to avoid an object per pair. */
class PairHeap {
  private ranks: number[] = [];
  private starts: number[] = [];
  private ends: number[] = [];

  get size(): number {
    return this.ranks.length;
  }

  topStart(): number {
    return this.starts[0];
  }

  topEnd(): number {
    return this.ends[0];
  }

  push(rank: number, start: number, end: number): void {
    let index = this.ranks.length;
    this.ranks.push(rank);
    this.starts.push(start);
    this.ends.push(end);
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  pop(): void {
    const last = this.ranks.length - 1;
    this.swap(0, last);
    this.ranks.pop();
    this.starts.pop();
    this.ends.pop();
    let index = 0;
    const size = this.ranks.length;
    for (;;) {
      const left = 2 * index + 1;
      const right = left + 1;
      let smallest = index;
      if (left < size && this.less(left, smallest)) smallest = left;
      if (right < size && this.less(right, smallest)) smallest = right;
      if (smallest === index) return;
      this.swap(index, smallest);
      index = smallest;
    }
  }

  private less(a: number, b: number): boolean {
    const rankA = this.ranks[a];
    const rankB = this.ranks[b];
    return rankA < rankB || (rankA === rankB && this.starts[a] < this.starts[b]);
  }

  private swap(a: number, b: number): void {
    const rank = this.ranks[a];
    this.ranks[a] = this.ranks[b];
    this.ranks[b] = rank;
    const start = this.starts[a];
    this.starts[a] = this.starts[b];
    this.starts[b] = start;
    const end = this.ends[a];
    this.ends[a] = this.ends[b];
    this.ends[b] = end;
  }
}

function isAscii(text: string): boolean {
  for (let index = 0; index < text.length; index += 1) {
    if (text.charCodeAt(index) > 127) return false;
  }
  return true;
}

let counter: TokenCounter | undefined;

function tokenCounter(): TokenCounter {
  if (!counter) {
    // require() keeps loading synchronous and lazy: the 2 MB rank module is read only when first needed.
    const require = createRequire(import.meta.url);
    counter = new TokenCounter(require('js-tiktoken/ranks/o200k_base') as RankFile);
  }
  return counter;
}

/** Builds the rank table now, so the first request does not pay for it. */
export function warmTokenizer(): void {
  tokenCounter();
}

/** o200k_base token count of a text (special-token text counts as ordinary text). */
export function countTextTokens(text: string): number {
  return tokenCounter().count(text);
}

/**
 * `countTextTokens`, but it stops once the count passes `limit` (returning a number above it): counting
 * a provider's 10 MB answer to bill at most its output limit would only hold the event loop.
 */
export function countTextTokensUpTo(text: string, limit: number): number {
  if (text.length <= ESTIMATE_SLICE_CHARACTERS) return countTextTokens(text);
  let total = 0;
  for (let offset = 0; offset < text.length && total <= limit; offset += ESTIMATE_SLICE_CHARACTERS) {
    total += countTextTokens(text.slice(offset, offset + ESTIMATE_SLICE_CHARACTERS));
  }
  return total;
}

// ───────────────────────────── requests ─────────────────────────────

/**
 * A request's input taken apart once, so that it can be both estimated (o200k counts, what the
 * provider most likely bills) and bounded (what it can bill at most) without walking it twice.
 */
export interface RequestInput {
  /** Framing, reply priming and images: token counts whatever the tokenizer. */
  fixedTokens: number;
  /** Text the model reads. */
  texts: string[];
  /** Content not tokenized here (audio, unknown parts): estimated at 4 characters a token. */
  opaque: string[];
  messages: number;
  /** Tool definitions: a provider wraps them in a tool-use system prompt of its own. */
  tools: number;
  /** Provider-defined client tools (Anthropic's bash, text editor, computer, memory). */
  providerTools: number;
}

/**
 * Margins of the bound above the estimate for what no text carries, from the providers' published
 * upper ends: Anthropic's tool-use system prompt (346 tokens at most), its defined tools (computer use:
 * 735 tokens of definition plus up to 499 of system prompt), per-message framing larger than OpenAI's.
 */
const BOUND_TOKENS_PER_MESSAGE = 8;
const BOUND_TOKENS_PER_REQUEST = 32;
const BOUND_TOOL_USE_PROMPT_TOKENS = 500;
const BOUND_PROVIDER_TOOL_TOKENS = 1_500;
/** Anthropic tools that the client runs (their cost is a fixed prompt); any other typed tool runs on
 *  the provider and pulls content of unknown size into the context. */
const CLIENT_RUN_ANTHROPIC_TOOLS =
  /^(bash|text_editor|str_replace_editor|str_replace_based_edit_tool|computer|memory)_/;
/** Text counted in one go before the async estimate yields to the event loop. */
const ESTIMATE_SLICE_CHARACTERS = 64 * 1024;
/** Past this much text the estimate is 4 characters a token instead of a count. */
const ESTIMATE_EXACT_CHARACTERS = 256 * 1024;

function unmeterable(what: string, param = 'messages'): TollgateError {
  return new TollgateError(
    'invalid_request',
    `${what} cannot be metered: the gateway holds the most a request can cost before calling the provider, and the size of this input is not known until the provider has read it.`,
    { param },
  );
}

function emptyInput(): RequestInput {
  return {
    fixedTokens: REPLY_PRIMING_TOKENS,
    texts: [],
    opaque: [],
    messages: 0,
    tools: 0,
    providerTools: 0,
  };
}

function addJson(input: RequestInput, value: unknown): void {
  if (value === undefined || value === null) return;
  input.texts.push(typeof value === 'string' ? value : JSON.stringify(value));
}

function addOpaque(input: RequestInput, value: unknown): void {
  input.opaque.push(typeof value === 'string' ? value : JSON.stringify(value ?? ''));
}

// ───────────────────────────── OpenAI ─────────────────────────────

function collectOpenAiPart(input: RequestInput, part: OpenAiContentPart): void {
  if (!isRecord(part)) return;
  switch (part.type) {
    case 'text':
      if (typeof part.text === 'string') input.texts.push(part.text);
      return;
    case 'image_url':
      input.fixedTokens +=
        isRecord(part.image_url) && part.image_url.detail === 'low'
          ? LOW_DETAIL_IMAGE_TOKEN_ESTIMATE
          : IMAGE_TOKEN_ESTIMATE;
      return;
    case 'refusal':
      if (typeof part.refusal === 'string') input.texts.push(part.refusal);
      return;
    case 'file':
      throw unmeterable('A file content part');
    default:
      addOpaque(input, part);
  }
}

function collectOpenAiTools(input: RequestInput, tools: OpenAiTool[] | undefined): void {
  if (!Array.isArray(tools)) return;
  for (const tool of tools) {
    input.tools += 1;
    const definition = isRecord(tool) && isRecord(tool.function) ? tool.function : undefined;
    if (!definition) {
      addOpaque(input, tool);
      continue;
    }
    input.fixedTokens += TOKENS_PER_TOOL;
    input.texts.push(String(definition.name ?? ''));
    if (typeof definition.description === 'string') input.texts.push(definition.description);
    addJson(input, definition.parameters);
  }
}

export function openAiRequestInput(request: OpenAiChatRequest): RequestInput {
  const body = request as OpenAiChatRequest & Record<string, unknown>;
  if (body.web_search_options !== undefined && body.web_search_options !== null)
    throw unmeterable('web_search_options', 'web_search_options');
  if (body.prediction !== undefined && body.prediction !== null)
    throw unmeterable('A predicted output', 'prediction');
  const input = emptyInput();
  for (const message of request.messages ?? []) {
    if (!isRecord(message)) continue;
    input.messages += 1;
    // The role is one token in every case ("system", "user", "assistant", "tool", "developer").
    input.fixedTokens += TOKENS_PER_MESSAGE + 1;
    if (typeof message.name === 'string') {
      input.fixedTokens += TOKENS_PER_NAME;
      input.texts.push(message.name);
    }
    const content = message.content;
    if (typeof content === 'string') input.texts.push(content);
    else if (Array.isArray(content)) for (const part of content) collectOpenAiPart(input, part);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        if (!isRecord(call) || !isRecord(call.function)) continue;
        input.fixedTokens += TOKENS_PER_TOOL;
        input.texts.push(String(call.function.name ?? ''));
        addJson(input, call.function.arguments);
      }
    }
  }
  collectOpenAiTools(input, request.tools);
  // Legacy function definitions are still read by the models that take them.
  if (Array.isArray(body.functions)) for (const definition of body.functions) addOpaque(input, definition);
  return input;
}

// ───────────────────────────── Anthropic ─────────────────────────────

function collectAnthropicBlock(input: RequestInput, block: AnthropicContentBlock): void {
  if (!isRecord(block)) return;
  switch (block.type) {
    case 'text':
      if (typeof block.text === 'string') input.texts.push(block.text);
      return;
    case 'image':
      // Whatever its source, the provider scales an image down to at most this many tokens.
      input.fixedTokens += IMAGE_TOKEN_ESTIMATE;
      return;
    case 'tool_use':
      input.fixedTokens += TOKENS_PER_TOOL;
      input.texts.push(String(block.name ?? ''));
      addJson(input, block.input);
      return;
    case 'tool_result':
      input.fixedTokens += TOKENS_PER_TOOL;
      if (typeof block.content === 'string') input.texts.push(block.content);
      else if (Array.isArray(block.content))
        for (const inner of block.content) collectAnthropicBlock(input, inner);
      return;
    case 'thinking':
      if (typeof block.thinking === 'string') input.texts.push(block.thinking);
      return;
    case 'redacted_thinking':
      addOpaque(input, block.data);
      return;
    case 'document': {
      // A document's text is in the request; a PDF, a URL or a stored file is read by the provider.
      const source = isRecord(block.source) ? block.source : {};
      if (source.type === 'text' && typeof source.data === 'string') input.texts.push(source.data);
      else if (source.type === 'content' && Array.isArray(source.content))
        for (const inner of source.content) collectAnthropicBlock(input, inner as AnthropicContentBlock);
      else throw unmeterable(`A document of source type "${String(source.type)}"`);
      for (const field of ['title', 'context'] as const)
        if (typeof block[field] === 'string') input.texts.push(block[field] as string);
      return;
    }
    case 'container_upload':
      throw unmeterable('A container upload');
    default:
      addOpaque(input, block);
  }
}

function collectAnthropicTools(input: RequestInput, tools: AnthropicTool[] | undefined): void {
  if (!Array.isArray(tools)) return;
  for (const tool of tools) {
    if (!isRecord(tool)) continue;
    input.tools += 1;
    if (typeof tool.type === 'string' && tool.type !== 'custom') {
      if (!CLIENT_RUN_ANTHROPIC_TOOLS.test(tool.type))
        throw unmeterable(`The server tool "${tool.type}"`, 'tools');
      input.providerTools += 1;
    }
    input.fixedTokens += TOKENS_PER_TOOL;
    input.texts.push(String(tool.name ?? ''));
    if (typeof tool.description === 'string') input.texts.push(tool.description);
    addJson(input, tool.input_schema);
  }
}

export function anthropicRequestInput(request: AnthropicMessagesRequest): RequestInput {
  const body = request as AnthropicMessagesRequest & Record<string, unknown>;
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0)
    throw unmeterable('An MCP server', 'mcp_servers');
  if (body.container !== undefined && body.container !== null) throw unmeterable('A container', 'container');
  const input = emptyInput();
  const system = request.system;
  // The system prompt is framed like a message of its own, as OpenAI frames a system message.
  if ((typeof system === 'string' && system.length > 0) || (Array.isArray(system) && system.length > 0)) {
    input.messages += 1;
    input.fixedTokens += TOKENS_PER_MESSAGE + 1;
    if (typeof system === 'string') input.texts.push(system);
    else for (const block of system) collectAnthropicBlock(input, block);
  }
  for (const message of request.messages ?? []) {
    if (!isRecord(message)) continue;
    input.messages += 1;
    input.fixedTokens += TOKENS_PER_MESSAGE + 1;
    const content = message.content;
    if (typeof content === 'string') input.texts.push(content);
    else if (Array.isArray(content)) for (const block of content) collectAnthropicBlock(input, block);
  }
  collectAnthropicTools(input, request.tools);
  return input;
}

/**
 * A request body in the dialect it arrived in, taken apart for counting. Throws `invalid_request` for
 * input whose size only the provider can know (documents by URL or file, PDFs, server tools, MCP
 * servers): the gateway could not hold the most such a request may cost.
 */
export function requestInput(
  format: ApiFormat,
  request: OpenAiChatRequest | AnthropicMessagesRequest,
): RequestInput {
  return format === 'openai'
    ? openAiRequestInput(request as OpenAiChatRequest)
    : anthropicRequestInput(request as AnthropicMessagesRequest);
}

function opaqueEstimate(input: RequestInput): number {
  let total = 0;
  for (const text of input.opaque) total += Math.ceil(text.length / OPAQUE_CHARACTERS_PER_TOKEN);
  return total;
}

/** o200k_base estimate of the input tokens (synchronous: for small requests and tests). */
export function estimateInputTokens(input: RequestInput): number {
  let total = input.fixedTokens + opaqueEstimate(input);
  for (const text of input.texts) total += countTextTokens(text);
  return total;
}

/**
 * The estimate the gateway uses, without holding the event loop or spending CPU out of proportion:
 * up to 256 K characters of text, it is the exact o200k count, taken in slices of 64 K characters with
 * a yield between them (a slice boundary can split a token: at most one extra token per slice); past
 * that, 4 characters a token. A body of 15 MB of unknown words would otherwise cost seconds of CPU to
 * count exactly, for a figure that only stands in when the provider does not report its own.
 */
export async function estimateInputTokensAsync(input: RequestInput): Promise<number> {
  let characters = 0;
  for (const text of input.texts) characters += text.length;
  if (characters > ESTIMATE_EXACT_CHARACTERS) {
    return input.fixedTokens + opaqueEstimate(input) + Math.ceil(characters / OPAQUE_CHARACTERS_PER_TOKEN);
  }
  let total = input.fixedTokens + opaqueEstimate(input);
  let sinceYield = 0;
  for (const text of input.texts) {
    for (let offset = 0; offset < text.length; offset += ESTIMATE_SLICE_CHARACTERS) {
      const slice =
        text.length <= ESTIMATE_SLICE_CHARACTERS
          ? text
          : text.slice(offset, offset + ESTIMATE_SLICE_CHARACTERS);
      total += countTextTokens(slice);
      sinceYield += slice.length;
      if (sinceYield >= ESTIMATE_SLICE_CHARACTERS) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  }
  return total;
}

/**
 * The most input tokens the provider can bill for this request: every token of a byte-level BPE
 * tokenizer (OpenAI's, Anthropic's) covers at least one byte, so text and untokenized content count
 * their UTF-8 bytes; images count the upper end either provider bills for one image; framing, tool-use
 * prompts and provider-defined tools their published upper ends. Cheap (no tokenizing) whatever the
 * size. The gateway holds this, and caps reported input at it.
 */
export function boundInputTokens(
  input: RequestInput,
  /** A text's UTF-8 bytes; a body read with long strings cut out counts them through its placeholders. */
  byteLength: (text: string) => number = utf8ByteLength,
): number {
  let total =
    input.fixedTokens +
    BOUND_TOKENS_PER_REQUEST +
    input.messages * BOUND_TOKENS_PER_MESSAGE +
    input.providerTools * BOUND_PROVIDER_TOOL_TOKENS +
    (input.tools > 0 ? BOUND_TOOL_USE_PROMPT_TOKENS : 0);
  for (const text of input.texts) total += byteLength(text);
  for (const text of input.opaque) total += byteLength(text);
  return total;
}

function utf8ByteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

export function countOpenAiRequestTokens(request: OpenAiChatRequest): number {
  return estimateInputTokens(openAiRequestInput(request));
}

export function countAnthropicRequestTokens(request: AnthropicMessagesRequest): number {
  return estimateInputTokens(anthropicRequestInput(request));
}

/** Input tokens of a request body in the dialect it arrived in (the o200k estimate). */
export function countRequestTokens(
  format: ApiFormat,
  request: OpenAiChatRequest | AnthropicMessagesRequest,
): number {
  return estimateInputTokens(requestInput(format, request));
}

/** The most input tokens a request body can be billed (see `boundInputTokens`). */
export function boundRequestTokens(
  format: ApiFormat,
  request: OpenAiChatRequest | AnthropicMessagesRequest,
): number {
  return boundInputTokens(requestInput(format, request));
}
