/**
 * The billing side of an image-generation backend. Each request reserves the model's price with
 * `withHold`, runs the generation, and is charged only if an image comes back: a generation that
 * throws voids the hold, so the user pays nothing for it.
 *
 * A user who stored their own fal key (bring your own key) is not charged credits: their generation
 * must then run on their key, which `withHold` hands over. Running it on the app's key instead would
 * give it to them for free at the app's expense.
 */
import { InsufficientCreditsError, Tollgate } from '@tollgate/client';

/**
 * Whatever actually makes the image (fal, Replicate, your own GPU), called with the provider key to
 * use; it throws when it fails.
 */
export type ImageGenerator = (request: {
  model: string;
  prompt: string;
  apiKey: string;
}) => Promise<{ url: string }>;

export type GenerateOutcome =
  | { ok: true; url: string; charged: number; holdId: string; funding: 'credits' | 'byok' }
  | { ok: false; reason: 'insufficient_credits'; required?: number; available?: number };

export interface ImageAppOptions {
  /** Where Tollgate runs, e.g. http://127.0.0.1:8787. */
  tollgateUrl: string;
  /** The app's secret key (`tg_sk_…`); it never leaves the backend. */
  secretKey: string;
  /** The app's own fal key: generations paid with credits run on it. */
  falKey: string;
  generate: ImageGenerator;
  /** The model to bill for (default `fal-ai/flux/schnell`). */
  model?: string;
}

export function createImageApp(options: ImageAppOptions) {
  const tollgate = new Tollgate({ baseUrl: options.tollgateUrl, apiKey: options.secretKey });
  const model = options.model ?? 'fal-ai/flux/schnell';

  return {
    /** Signs a user up (idempotent on your own user id); they get the configured signup bonus once. */
    async signUp(userId: string) {
      const customer = await tollgate.customers.create({ external_id: userId });
      return { customerId: customer.id, balance: customer.balance };
    },

    /**
     * Generates one image for `userId`. Running out of credits is an expected outcome (show a top-up
     * button); a failing generation is rethrown after its hold has been voided.
     */
    async generateImage(userId: string, prompt: string): Promise<GenerateOutcome> {
      try {
        const { result, capture, hold } = await tollgate.withHold(
          userId,
          model,
          // key.apiKey: the user's own fal key when it pays (byok), else falKey below.
          (_hold, key) => options.generate({ model, prompt, apiKey: key.apiKey! }),
          { providerKey: options.falKey },
        );
        return { ok: true, url: result.url, charged: capture.amount, holdId: hold.id, funding: hold.funding };
      } catch (error) {
        if (error instanceof InsufficientCreditsError) {
          return {
            ok: false,
            reason: 'insufficient_credits',
            required: error.required,
            available: error.available,
          };
        }
        throw error;
      }
    },

    /**
     * Stores the user's own fal key: Tollgate checks it with fal first and refuses one fal does not
     * accept (or any key, when the app forbids BYOK). From then on their generations cost no credits.
     */
    async useOwnFalKey(userId: string, key: string) {
      return tollgate.providerKeys.set(userId, 'fal', { key });
    },

    /** What the user has left, for the header of your UI. */
    async balance(userId: string) {
      const customer = await tollgate.customers.retrieve(userId);
      return { balance: customer.balance, available: customer.available };
    },

    /** What one image costs, for the button label (from the server's catalog, cached). */
    async creditsPerImage() {
      return tollgate.getModelCredits(model);
    },
  };
}
