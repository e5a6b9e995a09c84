/**
 * The built-in model catalog: every model of seeds 001 (Open Animate, prices in dollars) and 002
 * (WZRD Studio, prices in credits), plus the token-priced chat models the gateway serves.
 *
 * Prices are in credits. Seed 001's dollars are converted at the default $0.01 per credit by
 * `usdAtDefaultRate` so the published dollar figure stays readable here. Where both seeds list the
 * same id, seed 001's dollar price wins (it matches the contract's `fal-ai/flux/schnell per_call
 * 0.3`); the one exception is `fal-ai/veo3.1`, priced per second as in the contract's example.
 * Overlaps: fal-ai/flux/schnell, fal-ai/ideogram/v3, fal-ai/nano-banana-2, fal-ai/veo3.1,
 * fal-ai/sora-2/text-to-video/pro.
 *
 * Work inputs (what a media job is priced from, see `WorkInput`): image models take fal's
 * `num_images` (1–4, each image priced as a call — seed 002 charged one price per request whatever
 * the number of images, which issue 12 closes as a way to get images free); `fal-ai/veo3.1` is priced per second of its
 * `duration` ("4s"–"8s", default "8s"); a video model priced per clip is limited to the length of the
 * provider's default clip (Hailuo 02: 6 s, Kling 2.5 Turbo: 5 s, Veo 3: 8 s, Sora 2: 4 s, Seedance
 * Lite: 5 s), the clip its per-clip price was set for. Any other model's job may not set a count
 * above one or a length at all (`pricing/work-inputs.ts`).
 */
import { decimalToScaled, formatMicros } from '../shared/money.ts';
import type { RawModel } from './config-schema.ts';
import type { ModelType } from './types.ts';

/** Seed 001's dollars as credits at $0.01 per credit ('0.003' → '0.3'), exactly. */
function usdAtDefaultRate(usd: string): string {
  const microUsd = decimalToScaled(usd, 6, 'usd');
  // $0.01 per credit: one micro-dollar buys 100 micro-credits.
  return formatMicros(microUsd * 100n);
}

/** fal's `num_images`: up to four images per call, each priced as one call (a capture counts those returned). */
const IMAGES_PER_CALL: Partial<RawModel> = {
  work_inputs: { num_images: { role: 'outputs', default: 1, min: 1, max: 4 } },
};

/**
 * Seconds of the provider's default clip, which a per-clip price was set for: a job may ask for a
 * clip up to that long (`duration`), never a longer one. Other per-clip video models take no
 * `duration` at all.
 */
const DEFAULT_CLIP_SECONDS: Record<string, number> = {
  'fal-ai/minimax/hailuo-02/standard/text-to-video': 6,
  'fal-ai/kling-video/v2.5-turbo/pro/text-to-video': 5,
  'fal-ai/kling-video/v2.5-turbo/pro/image-to-video': 5,
  'fal-ai/veo3': 8,
  'fal-ai/veo3/fast': 8,
  'fal-ai/sora-2/text-to-video': 4,
  'fal-ai/sora-2/text-to-video/pro': 4,
  'fal-ai/bytedance/seedance/v1/lite/text-to-video': 5,
};

/** The work inputs of a per-call fal model: image count for image makers, clip length for the known clips. */
function workInputsFor(id: string, type: ModelType, category: string, provider: string): Partial<RawModel> {
  if (provider !== 'fal') return {};
  if (type === 'image' && category !== 'background_removal' && category !== 'upscaling')
    return IMAGES_PER_CALL;
  const clipSeconds = DEFAULT_CLIP_SECONDS[id];
  if (clipSeconds !== undefined) {
    return { work_inputs: { duration: { role: 'limit', measure: 'seconds', max: clipSeconds } } };
  }
  return {};
}

/** A model charged a fixed number of credits per call, served by the provider its id names. */
function perCall(
  id: string,
  name: string,
  type: ModelType,
  category: string,
  credits: string,
  extra: Partial<RawModel> = {},
): RawModel {
  const provider = providerFor(id);
  // GMI Cloud knows its models without our namespace; fal's endpoint ids are the model ids.
  const upstream = provider === 'gmi' ? { upstream_model: id.slice('gmi/'.length) } : {};
  return {
    id,
    name,
    type,
    category,
    provider,
    ...upstream,
    price: { per_call: credits },
    ...workInputsFor(id, type, category, provider),
    ...extra,
  };
}

/**
 * fal hosts fal-ai/*, and also serves the beatoven, minimax and cassetteai ids; GMI Cloud ids carry
 * their own namespace; the remaining text models (Llama) go through OpenRouter.
 */
function providerFor(id: string): string {
  if (id.startsWith('gmi/')) return 'gmi';
  if (/^(fal-ai|beatoven|minimax|cassetteai)\//.test(id)) return 'fal';
  return 'openrouter';
}

// Seed 001 (Open Animate): dollars per operation.
const seedAnimateModels: RawModel[] = [
  // Image generation
  perCall('fal-ai/flux/schnell', 'FLUX Schnell', 'image', 'image_generation', usdAtDefaultRate('0.003')),
  perCall('fal-ai/flux-2-flex', 'Flux 2 Flex', 'image', 'image_generation', usdAtDefaultRate('0.05'), {
    // Open Animate's default for generated assets; WZRD's default image model holds 'image'.
    default_for: 'asset_image',
  }),
  perCall(
    'fal-ai/recraft/v4/text-to-image',
    'Recraft V4',
    'image',
    'image_generation',
    usdAtDefaultRate('0.04'),
  ),
  perCall(
    'fal-ai/recraft/v4/pro/text-to-image',
    'Recraft V4 Pro',
    'image',
    'image_generation',
    usdAtDefaultRate('0.06'),
  ),
  perCall('fal-ai/ideogram/v3', 'Ideogram V3', 'image', 'image_generation', usdAtDefaultRate('0.06')),
  perCall('fal-ai/nano-banana-2', 'Nano Banana 2', 'image', 'image_generation', usdAtDefaultRate('0.08'), {
    default_for: 'image',
  }),
  // Image editing
  perCall(
    'fal-ai/flux-pro/kontext',
    'FLUX Kontext Pro Edit',
    'image',
    'image_editing',
    usdAtDefaultRate('0.04'),
    {
      default_for: 'image_edit',
    },
  ),
  perCall(
    'fal-ai/nano-banana-2/edit',
    'Nano Banana 2 Edit',
    'image',
    'image_editing',
    usdAtDefaultRate('0.08'),
  ),
  perCall('fal-ai/reve/edit', 'Reve Edit', 'image', 'image_editing', usdAtDefaultRate('0.04')),
  // Background removal
  perCall('fal-ai/birefnet', 'BiRefNet', 'image', 'background_removal', usdAtDefaultRate('0.005'), {
    default_for: 'background_removal',
  }),
  perCall(
    'fal-ai/bria/background/remove',
    'Bria Background Removal',
    'image',
    'background_removal',
    usdAtDefaultRate('0.018'),
  ),
  // Upscaling
  perCall(
    'fal-ai/bria/upscale/creative',
    'Bria Creative Upscale',
    'image',
    'upscaling',
    usdAtDefaultRate('0.03'),
    {
      default_for: 'upscale',
    },
  ),
  perCall(
    'fal-ai/topaz/upscale/image',
    'Topaz Image Upscale',
    'image',
    'upscaling',
    usdAtDefaultRate('0.08'),
  ),
  // Video generation
  perCall(
    'fal-ai/minimax/hailuo-02/standard/text-to-video',
    'MiniMax Hailuo 02 Standard T2V',
    'video',
    'video_generation',
    usdAtDefaultRate('0.27'),
  ),
  perCall(
    'fal-ai/kling-video/v2.5-turbo/pro/text-to-video',
    'Kling 2.5 Turbo Pro T2V',
    'video',
    'video_generation',
    usdAtDefaultRate('0.35'),
  ),
  perCall(
    'fal-ai/kling-video/v3/pro/text-to-video',
    'Kling 3 Pro T2V',
    'video',
    'video_generation',
    usdAtDefaultRate('1.12'),
  ),
  // Seed 001 says $1.00 and seed 002 says 40 credits per clip; the contract prices it per second.
  {
    id: 'fal-ai/veo3.1',
    name: 'Veo 3.1',
    type: 'video',
    category: 'video_generation',
    provider: 'fal',
    price: { per_unit: '10', unit: 'second' },
    // fal takes "4s", "6s" or "8s" (default "8s"); the duration submitted is the quantity priced.
    work_inputs: { duration: { role: 'units', measure: 'seconds', default: '8s', min: 4, max: 8 } },
  },
  perCall(
    'fal-ai/sora-2/text-to-video/pro',
    'Sora 2 Pro',
    'video',
    'video_generation',
    usdAtDefaultRate('1.50'),
  ),
  // Audio / speech
  perCall('beatoven/music-generation', 'Beatoven Music', 'audio', 'music', usdAtDefaultRate('0.05')),
  perCall(
    'beatoven/sound-effect-generation',
    'Beatoven Sound Effects',
    'audio',
    'sound_effects',
    usdAtDefaultRate('0.05'),
  ),
  perCall('minimax/speech-02-hd', 'MiniMax Speech 02 HD', 'audio', 'speech', usdAtDefaultRate('0.05')),
  // Other
  perCall('fal-ai/flux/dev/controlnet', 'FLUX Dev ControlNet', 'image', 'other', usdAtDefaultRate('0.03')),
  perCall('fal-ai/flux/dev/ip-adapter', 'FLUX Dev IP-Adapter', 'image', 'other', usdAtDefaultRate('0.03')),
  perCall('fal-ai/lora', 'FLUX LoRA', 'image', 'other', usdAtDefaultRate('0.02')),
];

// Seed 002 (WZRD Studio): credits per call. Ids already listed by seed 001 are left out here.
const seedStudioModels: RawModel[] = [
  // Image
  perCall('fal-ai/flux-2/flash', 'Flux 2 Flash', 'image', 'image_generation', '4'),
  perCall('fal-ai/flux/dev', 'FLUX Dev', 'image', 'image_generation', '5'),
  perCall('fal-ai/seedream/v5/lite/text-to-image', 'Seedream 5 Lite', 'image', 'image_generation', '5'),
  perCall('fal-ai/qwen-image-2/text-to-image', 'Qwen Image 2', 'image', 'image_generation', '5'),
  perCall('fal-ai/flux-2/turbo', 'Flux 2 Turbo', 'image', 'image_generation', '5'),
  perCall('fal-ai/flux-2', 'Flux 2', 'image', 'image_generation', '6'),
  perCall('fal-ai/qwen-image-2512', 'Qwen Image 2512', 'image', 'image_generation', '6'),
  perCall('fal-ai/hidream-i1-full', 'HiDream I1', 'image', 'image_generation', '6'),
  perCall('fal-ai/nano-banana-pro', 'Nano Banana Pro', 'image', 'image_generation', '7'),
  perCall('fal-ai/qwen-image-2/pro/text-to-image', 'Qwen Image 2 Pro', 'image', 'image_generation', '7'),
  perCall('fal-ai/flux-pro/kontext/text-to-image', 'FLUX Kontext Pro', 'image', 'image_generation', '7'),
  perCall('fal-ai/flux-pro/v1.1-ultra', 'FLUX Pro Ultra', 'image', 'image_generation', '8'),
  perCall('fal-ai/flux-2-pro', 'Flux 2 Pro', 'image', 'image_generation', '8'),
  perCall('fal-ai/gpt-image-1.5', 'GPT-Image 1.5', 'image', 'image_generation', '8'),
  perCall('fal-ai/flux-2-max', 'Flux 2 Max', 'image', 'image_generation', '10'),
  perCall('fal-ai/imagen4/preview/ultra', 'Imagen 4 Ultra', 'image', 'image_generation', '10'),
  // GMI Cloud image
  perCall('gmi/seedream-5.0-lite', 'Seedream 5 Lite (GMI)', 'image', 'image_generation', '2'),
  perCall('gmi/seedream-5.0', 'Seedream 5.0', 'image', 'image_generation', '3'),
  perCall('gmi/gemini-3.1-flash-image-preview', 'Gemini 3.1 Flash Image', 'image', 'image_generation', '4'),
  // Video
  perCall('fal-ai/ltx-video', 'LTX Video', 'video', 'video_generation', '16'),
  perCall(
    'fal-ai/bytedance/seedance/v1/lite/text-to-video',
    'Seedance Lite T2V',
    'video',
    'video_generation',
    '18',
  ),
  perCall(
    'fal-ai/kling-video/o3/standard/text-to-video',
    'Kling O3 Standard T2V',
    'video',
    'video_generation',
    '20',
    { default_for: 'video' },
  ),
  perCall('fal-ai/veo3/fast', 'Veo 3 Fast', 'video', 'video_generation', '25'),
  perCall(
    'fal-ai/kling-video/v2.5-turbo/pro/image-to-video',
    'Kling 2.5 Turbo Pro I2V',
    'video',
    'video_generation',
    '22',
  ),
  perCall('fal-ai/ltx-2.3/text-to-video', 'LTX 2.3 Pro T2V', 'video', 'video_generation', '22'),
  perCall(
    'fal-ai/kling-video/o3/standard/image-to-video',
    'Kling O3 Standard I2V',
    'video',
    'video_generation',
    '24',
  ),
  perCall('fal-ai/minimax/video-01-live', 'MiniMax Video-01 Live', 'video', 'video_generation', '25'),
  perCall('fal-ai/veo3', 'Veo 3', 'video', 'video_generation', '35'),
  perCall('fal-ai/kling-video/o3/pro/text-to-video', 'Kling O3 Pro T2V', 'video', 'video_generation', '30'),
  perCall('fal-ai/sora-2/text-to-video', 'Sora 2', 'video', 'video_generation', '35'),
  perCall('fal-ai/kling-video/o3/pro/image-to-video', 'Kling O3 Pro I2V', 'video', 'video_generation', '32'),
  // Audio
  perCall('fal-ai/minimax/speech-2.8-turbo', 'MiniMax 2.8 Turbo', 'audio', 'speech', '2'),
  perCall('fal-ai/minimax/speech-02-turbo', 'MiniMax Turbo', 'audio', 'speech', '2'),
  perCall('fal-ai/chatterbox/text-to-speech', 'Chatterbox', 'audio', 'speech', '2'),
  perCall('fal-ai/qwen-3-tts/text-to-speech/1.7b', 'Qwen 3 TTS', 'audio', 'speech', '2'),
  perCall('fal-ai/minimax/speech-02-hd', 'MiniMax Speech HD', 'audio', 'speech', '3'),
  perCall('fal-ai/kling-video/v1/tts', 'Kling TTS', 'audio', 'speech', '3'),
  perCall('fal-ai/elevenlabs/tts/turbo-v2.5', 'ElevenLabs TTS Turbo', 'audio', 'speech', '4', {
    default_for: 'tts',
  }),
  perCall('cassetteai/music-generator', 'CassetteAI Music', 'audio', 'music', '5'),
  perCall('fal-ai/lyria2', 'Lyria 2', 'audio', 'music', '6'),
  // Text & storyline, charged per call
  perCall('gmi/gemini-3.1-flash-lite', 'Gemini 3.1 Flash-Lite', 'language', 'text', '1'),
  perCall('llama-3.3-70b-versatile', 'Llama 3.3 70B', 'language', 'text', '1'),
  perCall('llama-3.1-8b-instant', 'Llama 3.1 8B', 'language', 'text', '1'),
  perCall('gmi/glm-5.1', 'GLM 5.1', 'language', 'text', '2'),
  perCall('gmi/openai-o4-mini', 'OpenAI o4 Mini', 'language', 'text', '3'),
  perCall('gmi/deepseek-r1', 'DeepSeek R1', 'language', 'text', '4', { default_for: 'text' }),
  perCall('gmi/claude-opus-4.7', 'Claude Opus 4.7', 'language', 'text', '5'),
  // Special operations: Director's Cut assembles the final video from all shot assets.
  perCall('fal-ai/ffmpeg-api/compose', "Director's Cut", 'operation', 'composition', '12'),
];

/** A token-priced chat model; prices are dollars per million tokens, written as credits at $0.01. */
function chat(
  provider: 'openai' | 'anthropic' | 'google' | 'xai',
  upstreamModel: string,
  name: string,
  usd: { input: string; output: string; cachedInput?: string },
  limits: { contextWindow: number; maxTokens: number },
  openrouterModel?: string,
): RawModel {
  return {
    id: `${provider}/${upstreamModel}`,
    name,
    type: 'language',
    category: 'text',
    provider,
    upstream_model: upstreamModel,
    ...(openrouterModel ? { openrouter_model: openrouterModel } : {}),
    context_window: limits.contextWindow,
    max_tokens: limits.maxTokens,
    price: {
      input_per_million: usdAtDefaultRate(usd.input),
      output_per_million: usdAtDefaultRate(usd.output),
      ...(usd.cachedInput ? { cached_input_per_million: usdAtDefaultRate(usd.cachedInput) } : {}),
    },
  };
}

const LONG = { contextWindow: 1_000_000, maxTokens: 128_000 };

/**
 * Token-priced chat models for the OpenAI- and Anthropic-compatible gateway, at each provider's
 * published list price per million tokens (input, cached input read, output), converted at $0.01 per
 * credit. Read on 2026-12-06 from:
 * - Anthropic: platform.claude.com/docs/en/about-claude/pricing and the model pages (Opus 5.5
 *   $4/$20, cache read $0.20; Sonnet 5.5 $2/$10, cache read $0.10 since 2026-10-07; Fable 5.1
 *   $10/$50, $0.25; Opus 4.5 $5/$25, $0.50; Sonnet 4.5 $3/$15, $0.30; Haiku 4.5 $1/$5, $0.10).
 * - OpenAI: developers.openai.com/api/docs/pricing (gpt-5.5 $5/$0.50/$30, gpt-5.5-pro $30/$180,
 *   gpt-5.4 $2.50/$0.25/$15, gpt-5.4-mini $0.75/$0.075/$4.50, gpt-5.4-nano $0.20/$0.02/$1.25).
 * - Google: ai.google.dev/gemini-api/docs/pricing (paid tier, text).
 * - xAI: docs.x.ai/docs/models (grok-4.3 $1.25/$0.20/$2.50).
 * A price with a long-prompt band (Claude Haiku 5.5 above 100K prompt tokens, Gemini Pro above
 * 200K) is listed at its higher band: the catalog has one price per model, and the meter must never
 * charge less than the provider bills. xAI bills prompts above 200K tokens at a rate its page does
 * not state; grok-4.3 is listed at its standard rate (set a price in the config to cover them).
 * gpt-4o's prices are the contract's example.
 */
const gatewayChatModels: RawModel[] = [
  chat(
    'openai',
    'gpt-5.5',
    'GPT-5.5',
    { input: '5', cachedInput: '0.5', output: '30' },
    LONG,
    'openai/gpt-5.5',
  ),
  chat('openai', 'gpt-5.5-pro', 'GPT-5.5 pro', { input: '30', output: '180' }, LONG, 'openai/gpt-5.5-pro'),
  chat(
    'openai',
    'gpt-5.4',
    'GPT-5.4',
    { input: '2.5', cachedInput: '0.25', output: '15' },
    LONG,
    'openai/gpt-5.4',
  ),
  chat(
    'openai',
    'gpt-5.4-mini',
    'GPT-5.4 mini',
    { input: '0.75', cachedInput: '0.075', output: '4.5' },
    LONG,
    'openai/gpt-5.4-mini',
  ),
  chat(
    'openai',
    'gpt-5.4-nano',
    'GPT-5.4 nano',
    { input: '0.2', cachedInput: '0.02', output: '1.25' },
    LONG,
    'openai/gpt-5.4-nano',
  ),
  chat(
    'openai',
    'gpt-4o',
    'GPT-4o',
    { input: '2.5', cachedInput: '1.25', output: '10' },
    { contextWindow: 128_000, maxTokens: 16_384 },
    'openai/gpt-4o',
  ),
  chat(
    'openai',
    'gpt-4o-mini',
    'GPT-4o mini',
    { input: '0.15', cachedInput: '0.075', output: '0.6' },
    { contextWindow: 128_000, maxTokens: 16_384 },
    'openai/gpt-4o-mini',
  ),
  chat(
    'anthropic',
    'claude-fable-5-1',
    'Claude Fable 5.1',
    { input: '10', cachedInput: '0.25', output: '50' },
    LONG,
    'anthropic/claude-fable-5.1',
  ),
  chat(
    'anthropic',
    'claude-opus-5-5',
    'Claude Opus 5.5',
    { input: '4', cachedInput: '0.2', output: '20' },
    LONG,
    'anthropic/claude-opus-5.5',
  ),
  chat(
    'anthropic',
    'claude-sonnet-5-5',
    'Claude Sonnet 5.5',
    { input: '2', cachedInput: '0.1', output: '10' },
    LONG,
    'anthropic/claude-sonnet-5.5',
  ),
  // Two bands by prompt length ($0.10/$0.50 up to 100K tokens, $0.50/$2.50 above): the higher one.
  chat(
    'anthropic',
    'claude-haiku-5-5',
    'Claude Haiku 5.5',
    { input: '0.5', cachedInput: '0.05', output: '2.5' },
    LONG,
    'anthropic/claude-haiku-5.5',
  ),
  chat(
    'anthropic',
    'claude-opus-4-5',
    'Claude Opus 4.5',
    { input: '5', cachedInput: '0.5', output: '25' },
    { contextWindow: 200_000, maxTokens: 64_000 },
    'anthropic/claude-opus-4.5',
  ),
  chat(
    'anthropic',
    'claude-sonnet-4-5',
    'Claude Sonnet 4.5',
    { input: '3', cachedInput: '0.3', output: '15' },
    { contextWindow: 200_000, maxTokens: 64_000 },
    'anthropic/claude-sonnet-4.5',
  ),
  chat(
    'anthropic',
    'claude-haiku-4-5',
    'Claude Haiku 4.5',
    { input: '1', cachedInput: '0.1', output: '5' },
    { contextWindow: 200_000, maxTokens: 64_000 },
    'anthropic/claude-haiku-4.5',
  ),
  chat(
    'anthropic',
    'claude-sonnet-4-20250514',
    'Claude Sonnet 4',
    { input: '3', cachedInput: '0.3', output: '15' },
    { contextWindow: 200_000, maxTokens: 8_192 },
    'anthropic/claude-sonnet-4',
  ),
  chat(
    'anthropic',
    'claude-3-5-haiku-20241022',
    'Claude 3.5 Haiku',
    { input: '0.8', cachedInput: '0.08', output: '4' },
    { contextWindow: 200_000, maxTokens: 8_192 },
    'anthropic/claude-3.5-haiku',
  ),
  // Above 200K prompt tokens ($4/$18, cache $0.40; $2/$12 below).
  chat(
    'google',
    'gemini-3.1-pro-preview',
    'Gemini 3.1 Pro',
    { input: '4', cachedInput: '0.4', output: '18' },
    { contextWindow: 1_000_000, maxTokens: 65_536 },
    'google/gemini-3.1-pro-preview',
  ),
  chat(
    'google',
    'gemini-3-flash-preview',
    'Gemini 3 Flash',
    { input: '0.5', cachedInput: '0.05', output: '3' },
    { contextWindow: 1_000_000, maxTokens: 65_536 },
    'google/gemini-3-flash-preview',
  ),
  // Above 200K prompt tokens ($2.50/$15, cache $0.25; $1.25/$10 below).
  chat(
    'google',
    'gemini-2.5-pro',
    'Gemini 2.5 Pro',
    { input: '2.5', cachedInput: '0.25', output: '15' },
    { contextWindow: 1_000_000, maxTokens: 65_536 },
    'google/gemini-2.5-pro',
  ),
  chat(
    'google',
    'gemini-2.5-flash',
    'Gemini 2.5 Flash',
    { input: '0.3', cachedInput: '0.03', output: '2.5' },
    { contextWindow: 1_000_000, maxTokens: 65_536 },
    'google/gemini-2.5-flash',
  ),
  chat(
    'google',
    'gemini-2.5-flash-lite',
    'Gemini 2.5 Flash-Lite',
    { input: '0.1', cachedInput: '0.01', output: '0.4' },
    { contextWindow: 1_000_000, maxTokens: 65_536 },
    'google/gemini-2.5-flash-lite',
  ),
  chat(
    'xai',
    'grok-4.3',
    'Grok 4.3',
    { input: '1.25', cachedInput: '0.2', output: '2.5' },
    { contextWindow: 1_000_000, maxTokens: 128_000 },
    'x-ai/grok-4.3',
  ),
];

/**
 * Embedding models for `POST /v1/embeddings`, priced per input token at OpenAI's published list
 * prices (standard tier, per million tokens: text-embedding-3-small $0.02, text-embedding-3-large
 * $0.13, text-embedding-ada-002 $0.10), converted at $0.01 per credit.
 */
function embedding(upstreamModel: string, name: string, usdPerMillion: string, dimensions: number): RawModel {
  return {
    id: `openai/${upstreamModel}`,
    name: `${name} (${dimensions} dimensions)`,
    type: 'language',
    category: 'embedding',
    provider: 'openai',
    upstream_model: upstreamModel,
    context_window: 8_192,
    price: { input_per_million: usdAtDefaultRate(usdPerMillion) },
  };
}

const gatewayEmbeddingModels: RawModel[] = [
  embedding('text-embedding-3-small', 'Text Embedding 3 Small', '0.02', 1_536),
  embedding('text-embedding-3-large', 'Text Embedding 3 Large', '0.13', 3_072),
  embedding('text-embedding-ada-002', 'Text Embedding Ada 002', '0.10', 1_536),
];

export const DEFAULT_MODELS: readonly RawModel[] = [
  ...seedAnimateModels,
  ...seedStudioModels,
  ...gatewayChatModels,
  ...gatewayEmbeddingModels,
];
