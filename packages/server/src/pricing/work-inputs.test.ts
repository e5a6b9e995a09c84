import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Price, WorkInput } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import {
  capAtHold,
  deliveredWork,
  measureWork,
  quoteWork,
  readWorkMeasure,
  reportedWork,
  type WorkPricedModel,
} from './work-inputs.ts';

const CREDIT = 1_000_000n;
const NO_PRICE: Price = {
  perCallMicros: null,
  perUnitMicros: null,
  unit: null,
  inputPerMillionMicros: null,
  outputPerMillionMicros: null,
  cachedInputPerMillionMicros: null,
};

function work(field: string, rest: Partial<WorkInput> & Pick<WorkInput, 'role' | 'measure'>): WorkInput {
  return { field, defaultValue: null, minMicroUnits: null, maxMicroUnits: null, ...rest };
}

const veo: WorkPricedModel = {
  id: 'fal-ai/veo3.1',
  price: { ...NO_PRICE, perUnitMicros: 10n * CREDIT, unit: 'second' },
  workInputs: [
    work('duration', {
      role: 'units',
      measure: 'seconds',
      defaultValue: '8s',
      minMicroUnits: 4n * CREDIT,
      maxMicroUnits: 8n * CREDIT,
    }),
  ],
};
const schnell: WorkPricedModel = {
  id: 'fal-ai/flux/schnell',
  price: { ...NO_PRICE, perCallMicros: 300_000n },
  workInputs: [
    work('num_images', {
      role: 'outputs',
      measure: 'count',
      defaultValue: 1,
      minMicroUnits: CREDIT,
      maxMicroUnits: 4n * CREDIT,
    }),
  ],
};
const clip: WorkPricedModel = {
  id: 'fal-ai/sora-2/text-to-video',
  price: { ...NO_PRICE, perCallMicros: 35n * CREDIT },
  workInputs: [work('duration', { role: 'limit', measure: 'seconds', maxMicroUnits: 4n * CREDIT })],
};
const ltx: WorkPricedModel = {
  id: 'fal-ai/ltx-video',
  price: { ...NO_PRICE, perCallMicros: 16n * CREDIT },
  workInputs: [],
};
const tts: WorkPricedModel = {
  id: 'my/tts',
  price: { ...NO_PRICE, perUnitMicros: 1_000n, unit: 'character' },
  workInputs: [work('text', { role: 'units', measure: 'characters', maxMicroUnits: 5_000n * CREDIT })],
};

function expectInvalid(run: () => unknown, param: string): TollgateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    expect((error as TollgateError).code).toBe('invalid_request');
    expect((error as TollgateError).details.param).toBe(param);
    return error as TollgateError;
  }
  throw new Error('expected invalid_request');
}

describe('readWorkMeasure', () => {
  it('reads counts, seconds as fal writes them, and text length in characters', () => {
    expect(readWorkMeasure('count', 4, 'n')).toBe(4n * CREDIT);
    expect(readWorkMeasure('count', ' 4 ', 'n')).toBe(4n * CREDIT);
    expect(readWorkMeasure('seconds', 8, 'd')).toBe(8n * CREDIT);
    expect(readWorkMeasure('seconds', '8', 'd')).toBe(8n * CREDIT);
    expect(readWorkMeasure('seconds', '8s', 'd')).toBe(8n * CREDIT);
    expect(readWorkMeasure('seconds', '4.5s', 'd')).toBe(4_500_000n);
    expect(readWorkMeasure('seconds', 0.000001, 'd')).toBe(1n);
    expect(readWorkMeasure('characters', 'héllo 👋', 't')).toBe(7n * CREDIT);
  });

  it.each([
    ['count', 2.5],
    ['count', -1],
    ['count', '1e3'],
    ['count', true],
    ['seconds', '8 seconds'],
    ['seconds', -8],
    ['seconds', '1e1'],
    ['seconds', 1e21],
    ['seconds', '8.1234567'],
    ['seconds', Number.NaN],
    ['seconds', null],
    ['characters', 42],
  ] as const)('refuses %s %j', (measure, value) => {
    expectInvalid(() => readWorkMeasure(measure, value, 'input.x'), 'input.x');
  });
});

describe('measureWork', () => {
  it('writes the default of a missing work field into the submitted input and prices from it', () => {
    const measured = measureWork(veo, { prompt: 'waves' });
    expect(measured).toEqual({
      input: { prompt: 'waves', duration: '8s' },
      unitsMicroUnits: 8n * CREDIT,
      outputs: 1n,
    });
    expect(measureWork(veo, { prompt: 'waves', duration: '4s' }).unitsMicroUnits).toBe(4n * CREDIT);
    // An explicit null is a missing field: the default is what gets submitted.
    expect(measureWork(veo, { duration: null }).input.duration).toBe('8s');
  });

  it('refuses values outside the catalog bounds, naming the input field', () => {
    expect(expectInvalid(() => measureWork(veo, { duration: '12s' }), 'input.duration').message).toContain(
      'at most 8 seconds',
    );
    expectInvalid(() => measureWork(veo, { duration: '3s' }), 'input.duration');
    expectInvalid(() => measureWork(veo, { duration: 'eight' }), 'input.duration');
    expectInvalid(() => measureWork(schnell, { num_images: 5 }), 'input.num_images');
    expectInvalid(() => measureWork(schnell, { num_images: 0 }), 'input.num_images');
    expectInvalid(() => measureWork(schnell, { num_images: 2.5 }), 'input.num_images');
    expectInvalid(() => measureWork(clip, { duration: 8 }), 'input.duration');
  });

  it('multiplies by the number of outputs asked for', () => {
    expect(measureWork(schnell, { num_images: 4 }).outputs).toBe(4n);
    expect(measureWork(schnell, { num_images: '2' }).outputs).toBe(2n);
    expect(measureWork(schnell, {}).input).toEqual({ num_images: 1 });
  });

  it('bounds a limit without pricing it, and leaves a missing limit to the provider', () => {
    expect(measureWork(clip, { duration: '4' })).toMatchObject({ unitsMicroUnits: null, outputs: 1n });
    expect(measureWork(clip, { prompt: 'p' }).input).toEqual({ prompt: 'p' });
  });

  it('refuses counts above one and any length for fields the catalog does not price', () => {
    expectInvalid(() => measureWork(ltx, { duration: 5 }), 'input.duration');
    expectInvalid(() => measureWork(ltx, { num_frames: 500 }), 'input.num_frames');
    expectInvalid(() => measureWork(ltx, { num_videos: 2 }), 'input.num_videos');
    expectInvalid(() => measureWork(schnell, { num_images: 2, max_images: 3 }), 'input.max_images');
    expect(measureWork(ltx, { num_outputs: 1, n: '1' }).outputs).toBe(1n);
  });

  it('counts characters for a per-character model and requires the text', () => {
    expect(measureWork(tts, { text: 'hello' }).unitsMicroUnits).toBe(5n * CREDIT);
    expectInvalid(() => measureWork(tts, {}), 'input.text');
    expectInvalid(() => measureWork(tts, { text: 'x'.repeat(5_001) }), 'input.text');
  });

  it('refuses a per-unit model whose catalog entry names no input for its units', () => {
    expectInvalid(() => measureWork({ ...veo, workInputs: [] }, { duration: '8s' }), 'input.duration');
    expectInvalid(() => measureWork({ ...veo, workInputs: [] }, {}), 'model');
  });
});

describe('quoteWork', () => {
  it('prices units and outputs exactly, with the referral share rounded once', () => {
    expect(quoteWork(veo, { unitsMicroUnits: 8n * CREDIT, outputs: 1n }).totalMicros).toBe(80n * CREDIT);
    expect(quoteWork(veo, { unitsMicroUnits: 8n * CREDIT, outputs: 1n }, 100_000n)).toEqual({
      providerCostMicros: 80n * CREDIT,
      referralShareMicros: 8n * CREDIT,
      totalMicros: 88n * CREDIT,
    });
    expect(quoteWork(schnell, { unitsMicroUnits: null, outputs: 4n }).totalMicros).toBe(1_200_000n);
    expect(quoteWork(schnell, { unitsMicroUnits: null, outputs: 4n }, 100_000n).totalMicros).toBe(1_320_000n);
    expect(quoteWork(tts, { unitsMicroUnits: 5n * CREDIT, outputs: 1n }).totalMicros).toBe(5_000n);
  });

  it('charges nothing for nothing delivered', () => {
    expect(quoteWork(schnell, { unitsMicroUnits: null, outputs: 0n }).totalMicros).toBe(0n);
    expect(quoteWork(veo, { unitsMicroUnits: 0n, outputs: 1n }).totalMicros).toBe(0n);
  });
});

describe('reportedWork', () => {
  it('counts the images returned and reads a returned clip length, rounding up', () => {
    expect(reportedWork(schnell, { images: [{}, {}, {}] })).toEqual({ outputs: 3n });
    expect(reportedWork(veo, { video: { url: 'v.mp4', duration: 6 } })).toEqual({
      unitsMicroUnits: 6n * CREDIT,
    });
    expect(reportedWork(veo, { video: { url: 'v.mp4' }, duration: 7.0000001 })).toEqual({
      unitsMicroUnits: 7_000_001n,
    });
    expect(reportedWork(veo, { video: { duration: 1e300 } }).unitsMicroUnits).toBeGreaterThan(8n * CREDIT);
  });

  it('leaves out what the provider does not report, or reports unusably', () => {
    expect(reportedWork(veo, { video: { url: 'v.mp4' } })).toEqual({});
    expect(reportedWork(veo, { video: { duration: '8' } })).toEqual({});
    expect(reportedWork(veo, { video: { duration: -1 } })).toEqual({});
    expect(reportedWork(schnell, { image: {} })).toEqual({});
    expect(reportedWork(ltx, { images: [{}, {}] })).toEqual({});
    expect(reportedWork(veo, null)).toEqual({});
  });
});

describe('deliveredWork', () => {
  const submitted = { unitsMicroUnits: 8n * CREDIT, outputs: 4n };

  it('takes what the provider reports where it is not more than was submitted', () => {
    expect(deliveredWork(submitted, { unitsMicroUnits: 6n * CREDIT, outputs: 2n })).toEqual({
      work: { unitsMicroUnits: 6n * CREDIT, outputs: 2n },
      above: false,
    });
    expect(deliveredWork(submitted, {})).toEqual({ work: submitted, above: false });
    expect(deliveredWork(submitted, { outputs: 0n }).work.outputs).toBe(0n);
  });

  it('holds a provider claiming more (or an absurd amount) to the submission, and says so', () => {
    expect(deliveredWork(submitted, { unitsMicroUnits: 10n ** 300n })).toEqual({
      work: submitted,
      above: true,
    });
    expect(deliveredWork(submitted, { outputs: 9n })).toEqual({ work: submitted, above: true });
    expect(deliveredWork({ unitsMicroUnits: null, outputs: 1n }, { unitsMicroUnits: 5n })).toEqual({
      work: { unitsMicroUnits: null, outputs: 1n },
      above: false,
    });
  });
});

describe('capAtHold', () => {
  it('charges the delivered price, never above what was held', () => {
    const held = quoteWork(veo, { unitsMicroUnits: 4n * CREDIT, outputs: 1n }, 100_000n);
    const longer = quoteWork(veo, { unitsMicroUnits: 8n * CREDIT, outputs: 1n }, 100_000n);
    const shorter = quoteWork(veo, { unitsMicroUnits: 2n * CREDIT, outputs: 1n }, 100_000n);
    expect(capAtHold(longer, held)).toEqual({ ...held, capped: true });
    expect(capAtHold(shorter, held)).toEqual({ ...shorter, capped: false });
  });

  it('property: whatever a provider reports, the charge is at most the hold and its share at most the charge', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 8n * CREDIT }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 1n, max: 4n }),
        fc.bigInt({ min: 0n, max: 1000n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        (submittedUnits, reportedUnits, submittedOutputs, reportedOutputs, rate) => {
          const model = {
            price: { ...NO_PRICE, perCallMicros: 700_001n, perUnitMicros: 3_333_333n, unit: 'second' },
          };
          const held = quoteWork(model, { unitsMicroUnits: submittedUnits, outputs: submittedOutputs }, rate);
          const delivered = quoteWork(
            model,
            { unitsMicroUnits: reportedUnits, outputs: reportedOutputs },
            rate,
          );
          const charged = capAtHold(delivered, held);
          expect(charged.totalMicros).toBeLessThanOrEqual(held.totalMicros);
          expect(charged.referralShareMicros).toBeLessThanOrEqual(charged.totalMicros);
          expect(charged.providerCostMicros + charged.referralShareMicros).toBe(charged.totalMicros);
        },
      ),
    );
  });
});
