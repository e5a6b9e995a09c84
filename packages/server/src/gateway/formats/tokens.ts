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
 * Counts are estimates of what the provider will bill (Anthropic's tokenizer differs from OpenAI's);
 * the hold is corrected by the reported usage when the call finishes.
 */
import { createRequire } from 'node:module';
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

function opaqueTokens(value: unknown): number {
  const text = typeof value === 'string' ? value : JSON.stringify(value ?? '');
  return Math.ceil(text.length / OPAQUE_CHARACTERS_PER_TOKEN);
}

function jsonTokens(value: unknown): number {
  if (value === undefined || value === null) return 0;
  return countTextTokens(typeof value === 'string' ? value : JSON.stringify(value));
}

// ───────────────────────────── OpenAI ─────────────────────────────

function countOpenAiPart(part: OpenAiContentPart): number {
  if (!isRecord(part)) return 0;
  switch (part.type) {
    case 'text':
      return typeof part.text === 'string' ? countTextTokens(part.text) : 0;
    case 'image_url':
      return isRecord(part.image_url) && part.image_url.detail === 'low'
        ? LOW_DETAIL_IMAGE_TOKEN_ESTIMATE
        : IMAGE_TOKEN_ESTIMATE;
    case 'refusal':
      return typeof part.refusal === 'string' ? countTextTokens(part.refusal) : 0;
    default:
      return opaqueTokens(part);
  }
}

function countOpenAiTools(tools: OpenAiTool[] | undefined): number {
  if (!Array.isArray(tools)) return 0;
  let total = 0;
  for (const tool of tools) {
    const definition = isRecord(tool) && isRecord(tool.function) ? tool.function : undefined;
    if (!definition) {
      total += opaqueTokens(tool);
      continue;
    }
    total += TOKENS_PER_TOOL + countTextTokens(String(definition.name ?? ''));
    if (typeof definition.description === 'string') total += countTextTokens(definition.description);
    total += jsonTokens(definition.parameters);
  }
  return total;
}

export function countOpenAiRequestTokens(request: OpenAiChatRequest): number {
  let total = REPLY_PRIMING_TOKENS;
  for (const message of request.messages ?? []) {
    if (!isRecord(message)) continue;
    // The role is one token in every case ("system", "user", "assistant", "tool", "developer").
    total += TOKENS_PER_MESSAGE + 1;
    if (typeof message.name === 'string') total += TOKENS_PER_NAME + countTextTokens(message.name);
    const content = message.content;
    if (typeof content === 'string') total += countTextTokens(content);
    else if (Array.isArray(content)) for (const part of content) total += countOpenAiPart(part);
    if (Array.isArray(message.tool_calls)) {
      for (const call of message.tool_calls) {
        if (!isRecord(call) || !isRecord(call.function)) continue;
        total += TOKENS_PER_TOOL + countTextTokens(String(call.function.name ?? ''));
        total += jsonTokens(call.function.arguments);
      }
    }
  }
  return total + countOpenAiTools(request.tools);
}

// ───────────────────────────── Anthropic ─────────────────────────────

function countAnthropicBlock(block: AnthropicContentBlock): number {
  if (!isRecord(block)) return 0;
  switch (block.type) {
    case 'text':
      return typeof block.text === 'string' ? countTextTokens(block.text) : 0;
    case 'image':
      return IMAGE_TOKEN_ESTIMATE;
    case 'tool_use':
      return TOKENS_PER_TOOL + countTextTokens(String(block.name ?? '')) + jsonTokens(block.input);
    case 'tool_result': {
      let total = TOKENS_PER_TOOL;
      if (typeof block.content === 'string') total += countTextTokens(block.content);
      else if (Array.isArray(block.content))
        for (const inner of block.content) total += countAnthropicBlock(inner);
      return total;
    }
    case 'thinking':
      return typeof block.thinking === 'string' ? countTextTokens(block.thinking) : 0;
    case 'redacted_thinking':
      return opaqueTokens(block.data);
    default:
      return opaqueTokens(block);
  }
}

function countAnthropicTools(tools: AnthropicTool[] | undefined): number {
  if (!Array.isArray(tools)) return 0;
  let total = 0;
  for (const tool of tools) {
    if (!isRecord(tool)) continue;
    total += TOKENS_PER_TOOL + countTextTokens(String(tool.name ?? ''));
    if (typeof tool.description === 'string') total += countTextTokens(tool.description);
    total += jsonTokens(tool.input_schema);
  }
  return total;
}

export function countAnthropicRequestTokens(request: AnthropicMessagesRequest): number {
  let total = REPLY_PRIMING_TOKENS;
  const system = request.system;
  // The system prompt is framed like a message of its own, as OpenAI frames a system message.
  if (typeof system === 'string' && system.length > 0)
    total += TOKENS_PER_MESSAGE + 1 + countTextTokens(system);
  else if (Array.isArray(system) && system.length > 0) {
    total += TOKENS_PER_MESSAGE + 1;
    for (const block of system) total += countAnthropicBlock(block);
  }
  for (const message of request.messages ?? []) {
    if (!isRecord(message)) continue;
    total += TOKENS_PER_MESSAGE + 1;
    const content = message.content;
    if (typeof content === 'string') total += countTextTokens(content);
    else if (Array.isArray(content)) for (const block of content) total += countAnthropicBlock(block);
  }
  return total + countAnthropicTools(request.tools);
}

/** Input tokens of a request body in the dialect it arrived in. */
export function countRequestTokens(
  format: ApiFormat,
  request: OpenAiChatRequest | AnthropicMessagesRequest,
): number {
  return format === 'openai'
    ? countOpenAiRequestTokens(request as OpenAiChatRequest)
    : countAnthropicRequestTokens(request as AnthropicMessagesRequest);
}
