/**
 * Images between the dialects. OpenAI carries every image as a URL (`data:` URLs for inline bytes);
 * Anthropic has explicit base64 and url sources. Inline bytes stay inline both ways, so translation
 * never fetches anything.
 */
import { TollgateError } from '../../shared/errors.ts';
import type { AnthropicImageBlock, OpenAiImagePart } from './wire-types.ts';
import { isRecord } from './wire-types.ts';

export interface DataUrl {
  mediaType: string;
  data: string;
}

/** Splits a base64 `data:` URL; `null` for anything else (including percent-encoded data URLs). */
export function parseDataUrl(url: string): DataUrl | null {
  if (!url.startsWith('data:')) return null;
  const comma = url.indexOf(',');
  if (comma === -1) return null;
  // The header is short; slicing it (not the payload) keeps large images from being copied twice.
  const header = url.slice(5, comma);
  const parameters = header.split(';');
  if (parameters[parameters.length - 1].toLowerCase() !== 'base64') return null;
  return { mediaType: parameters[0] || 'application/octet-stream', data: url.slice(comma + 1) };
}

export function openAiImageToAnthropic(part: OpenAiImagePart): AnthropicImageBlock {
  const url = isRecord(part.image_url) ? part.image_url.url : undefined;
  if (typeof url !== 'string' || url.length === 0) {
    throw new TollgateError('invalid_request', 'image_url.url is required.', { param: 'messages' });
  }
  if (url.startsWith('data:')) {
    const inline = parseDataUrl(url);
    if (!inline) {
      throw new TollgateError('invalid_request', 'Inline images must be base64 data URLs.', {
        param: 'messages',
      });
    }
    return { type: 'image', source: { type: 'base64', media_type: inline.mediaType, data: inline.data } };
  }
  return { type: 'image', source: { type: 'url', url } };
}

export function anthropicImageToOpenAi(block: AnthropicImageBlock): OpenAiImagePart {
  const source = isRecord(block.source) ? block.source : undefined;
  if (source?.type === 'base64' && typeof source.data === 'string') {
    return { type: 'image_url', image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  }
  if (source?.type === 'url' && typeof source.url === 'string') {
    return { type: 'image_url', image_url: { url: source.url } };
  }
  // File-API references (`source.type: "file"`) live in Anthropic's storage and mean nothing to OpenAI.
  throw new TollgateError(
    'invalid_request',
    `Image source type "${String(source?.type)}" cannot be translated.`,
    {
      param: 'messages',
    },
  );
}
