/**
 * The amount of work in a media job, read from the job's own input as the catalog defines it
 * (`WorkInput` in config/types.ts): validated against the catalog's bounds, with the default of every
 * missing work field written in (so the provider is asked for exactly what is priced), then priced.
 * Also what a provider's result says was delivered, so a capture charges for that and never more
 * than was held.
 *
 * Pure: no I/O. Values are read exactly (seconds to the microsecond, as bigint millionths); a value
 * the catalog cannot read is the client's bad request, naming `input.<field>`.
 */
import type { Price, WorkInput, WorkMeasure } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import { formatMicros } from '../shared/money.ts';
import { MICRO_UNITS_PER_UNIT } from './price-inputs.ts';
import { type Quote, quote } from './quote.ts';

export interface WorkPricedModel {
  id: string;
  price: Price;
  workInputs: readonly WorkInput[];
}

/** The amount of work a price is applied to. */
export interface WorkAmount {
  /** Millionths of the `per_unit` price's unit (8 seconds = 8_000_000n); null when not priced per unit. */
  unitsMicroUnits: bigint | null;
  /** How many outputs (images, clips) one job makes: multiplies the whole price. */
  outputs: bigint;
}

export interface MeasuredWork extends WorkAmount {
  /** The input to submit: the client's, with the default of each missing work field written in. */
  input: Record<string, unknown>;
}

/**
 * Input names that multiply a job (counts) or lengthen it on fal-style providers. A model whose
 * catalog entry does not define one of them may not be sent it (a count of exactly 1 excepted): its
 * price covers only what the provider makes by default.
 */
export const UNPRICED_COUNT_FIELDS = [
  'num_images',
  'num_outputs',
  'num_videos',
  'num_samples',
  'max_images',
  'batch_size',
  'n',
] as const;
export const UNPRICED_LENGTH_FIELDS = ['duration', 'duration_seconds', 'seconds', 'num_frames'] as const;

const SECONDS_PATTERN = /^(\d{1,12})(?:\.(\d{1,6}))?s?$/;
const COUNT_PATTERN = /^\d{1,15}$/;

function invalid(field: string, reason: string): TollgateError {
  return new TollgateError('invalid_request', `${field} ${reason}`, { param: field });
}

/**
 * A work value in millionths of its measure: a count (`4`, `"4"`), seconds (`8`, `"8"`, `"8s"`,
 * `"4.5s"`) or the length of a text in characters (Unicode code points). Throws naming `param`.
 */
export function readWorkMeasure(measure: WorkMeasure, value: unknown, param: string): bigint {
  switch (measure) {
    case 'count': {
      if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
        return BigInt(value) * MICRO_UNITS_PER_UNIT;
      }
      if (typeof value === 'string' && COUNT_PATTERN.test(value.trim())) {
        return BigInt(value.trim()) * MICRO_UNITS_PER_UNIT;
      }
      throw invalid(param, 'must be a whole number');
    }
    case 'seconds': {
      const text =
        typeof value === 'number' && Number.isFinite(value)
          ? String(value)
          : typeof value === 'string'
            ? value.trim()
            : null;
      const match = text === null ? null : SECONDS_PATTERN.exec(text);
      if (!match) throw invalid(param, 'must be a number of seconds, like 8 or "8s" (at most 6 decimals)');
      const fraction = (match[2] ?? '').padEnd(6, '0');
      return BigInt(match[1]) * MICRO_UNITS_PER_UNIT + BigInt(fraction);
    }
    case 'characters': {
      if (typeof value !== 'string') throw invalid(param, 'must be text');
      let characters = 0n;
      for (const _character of value) characters += 1n;
      return characters * MICRO_UNITS_PER_UNIT;
    }
  }
}

/** `8_500_000n` → `"8.5"`: millionths of a measure as its decimal text, for messages and metadata. */
export function formatMicroUnits(microUnits: bigint): string {
  return formatMicros(microUnits);
}

/** The value of one work input, checked against its bounds. */
export function readWorkInput(work: WorkInput, value: unknown, param = `input.${work.field}`): bigint {
  const amount = readWorkMeasure(work.measure, value, param);
  // Zero images or zero seconds would price a job at nothing while the provider still makes one.
  if (work.role !== 'limit' && amount <= 0n) throw invalid(param, 'must be greater than zero');
  if (work.minMicroUnits !== null && amount < work.minMicroUnits) {
    throw invalid(
      param,
      `must be at least ${formatMicroUnits(work.minMicroUnits)}${unitSuffix(work.measure)}`,
    );
  }
  if (work.maxMicroUnits !== null && amount > work.maxMicroUnits) {
    throw invalid(
      param,
      `must be at most ${formatMicroUnits(work.maxMicroUnits)}${unitSuffix(work.measure)}`,
    );
  }
  return amount;
}

function unitSuffix(measure: WorkMeasure): string {
  if (measure === 'seconds') return ' seconds';
  if (measure === 'characters') return ' characters';
  return '';
}

function isExactlyOne(value: unknown): boolean {
  return value === 1 || (typeof value === 'string' && value.trim() === '1');
}

/**
 * Reads the amount of work from a job's input. Refuses (400, naming `input.<field>`) a work field
 * that is malformed or out of the catalog's bounds, a required one that is missing, and a
 * multiplying or lengthening field the catalog does not price for this model.
 *
 * @example measureWork(veo, { prompt: 'waves' }) // { input: { prompt: 'waves', duration: '8s' }, unitsMicroUnits: 8_000_000n, outputs: 1n }
 */
export function measureWork(model: WorkPricedModel, input: Record<string, unknown>): MeasuredWork {
  const submitted: Record<string, unknown> = { ...input };
  const declared = new Set(model.workInputs.map((work) => work.field));
  for (const field of UNPRICED_COUNT_FIELDS) {
    if (!declared.has(field) && submitted[field] !== undefined && !isExactlyOne(submitted[field])) {
      throw invalid(`input.${field}`, `is not priced for ${model.id}: leave it out (one output per job)`);
    }
  }
  for (const field of UNPRICED_LENGTH_FIELDS) {
    if (!declared.has(field) && submitted[field] !== undefined) {
      throw invalid(
        `input.${field}`,
        `is not priced for ${model.id}: leave it out (the price covers the provider's default length)`,
      );
    }
  }
  let unitsMicroUnits: bigint | null = null;
  let outputs = 1n;
  for (const work of model.workInputs) {
    let value = submitted[work.field];
    if (value === undefined || value === null) {
      if (work.defaultValue === null) {
        if (work.role === 'limit') continue;
        throw invalid(`input.${work.field}`, `is required for ${model.id}: it sets the price of the job`);
      }
      value = work.defaultValue;
      submitted[work.field] = value;
    }
    const amount = readWorkInput(work, value);
    if (work.role === 'units') unitsMicroUnits = amount;
    else if (work.role === 'outputs') outputs *= amount / MICRO_UNITS_PER_UNIT;
  }
  if (model.price.perUnitMicros !== null && unitsMicroUnits === null) {
    throw new TollgateError(
      'invalid_request',
      `${model.id} is priced per ${model.price.unit ?? 'unit'}, but the catalog names no input field that carries them`,
      { param: 'model' },
    );
  }
  return { input: submitted, unitsMicroUnits, outputs };
}

/**
 * The price of an amount of work: (per_call + per_unit × units) × outputs, with the referral share,
 * rounded once by `quote` (the outputs multiply exact prices, so the one rounding rule holds).
 */
export function quoteWork(model: { price: Price }, work: WorkAmount, referralRatePpm = 0n): Quote {
  const { price } = model;
  const units = work.unitsMicroUnits;
  const perUnitCharged = price.perUnitMicros !== null && units !== null && units > 0n;
  const scaled: Price = {
    ...price,
    perCallMicros: price.perCallMicros === null ? null : price.perCallMicros * work.outputs,
    perUnitMicros: perUnitCharged ? price.perUnitMicros! * work.outputs : null,
  };
  return quote(
    { price: scaled },
    { quantity: perUnitCharged ? formatMicroUnits(units!) : undefined },
    referralRatePpm,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A duration a provider reported (a JSON number of seconds) in millionths, rounded up; undefined if unusable. */
function reportedSeconds(value: unknown): bigint | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return undefined;
  const text = String(value);
  const plain = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (!plain) {
    // Exponent notation: far below a microsecond, or absurdly long (then capped at the hold anyway).
    return value < 1 ? 1n : BigInt(Math.ceil(value)) * MICRO_UNITS_PER_UNIT;
  }
  const fraction = plain[2] ?? '';
  let micro = BigInt(fraction.slice(0, 6).padEnd(6, '0'));
  if (/[1-9]/.test(fraction.slice(6))) micro += 1n;
  return BigInt(plain[1]) * MICRO_UNITS_PER_UNIT + micro;
}

const OUTPUT_LISTS = ['images', 'videos', 'audios', 'outputs'] as const;

/**
 * What a provider's result says it delivered, where it says so: the number of outputs (the length
 * of `images`, `videos`, … when the model prices outputs) and the length in seconds of the returned
 * video or audio (when the model is priced per second). Fields it does not report are left out.
 */
export function reportedWork(model: WorkPricedModel, result: unknown): Partial<WorkAmount> {
  const reported: Partial<WorkAmount> = {};
  if (!isRecord(result)) return reported;
  if (model.workInputs.some((work) => work.role === 'outputs')) {
    const list = OUTPUT_LISTS.map((key) => result[key]).find(Array.isArray);
    if (list) reported.outputs = BigInt(list.length);
  }
  const units = model.workInputs.find((work) => work.role === 'units');
  if (units?.measure === 'seconds') {
    const media = [result.video, result.audio, result.audio_file].find(isRecord);
    const seconds = reportedSeconds(media?.duration) ?? reportedSeconds(result.duration);
    if (seconds !== undefined) reported.unitsMicroUnits = seconds;
  }
  return reported;
}

/**
 * The work to charge for: what the provider reports it delivered where it reports it, never more
 * than was submitted (a provider claiming more — or an absurd number — is held to the submission,
 * and `above` says it tried). What it does not report is taken as submitted.
 */
export function deliveredWork(
  submitted: WorkAmount,
  reported: Partial<WorkAmount>,
): { work: WorkAmount; above: boolean } {
  const units = submitted.unitsMicroUnits;
  const reportedUnits = reported.unitsMicroUnits;
  const unitsAbove =
    units !== null && reportedUnits !== undefined && reportedUnits !== null && reportedUnits > units;
  const outputsAbove = reported.outputs !== undefined && reported.outputs > submitted.outputs;
  return {
    work: {
      unitsMicroUnits:
        units === null || reportedUnits === undefined || reportedUnits === null || unitsAbove
          ? units
          : reportedUnits,
      outputs: reported.outputs === undefined || outputsAbove ? submitted.outputs : reported.outputs,
    },
    above: unitsAbove || outputsAbove,
  };
}

/** What to charge: the delivered work's price, or what was held when that is less (never above the hold). */
export function capAtHold(delivered: Quote, held: Quote): Quote & { capped: boolean } {
  if (delivered.totalMicros <= held.totalMicros) return { ...delivered, capped: false };
  return { ...held, capped: true };
}
