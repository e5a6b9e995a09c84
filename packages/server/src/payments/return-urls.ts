/**
 * Where a checkout may send the buyer back to. A success or cancel URL on any origin would make the
 * checkout an open redirect (a trusted payment page forwarding to a phishing site), so each must be on
 * this server's own origin or one of the app's `return_origins` (PATCH /v1/apps/{id}). Checked when the
 * checkout is created (400) and again before the test page redirects (an origin the app has since
 * removed is not followed).
 */
import type { AppsService } from '../apps/apps-service.ts';
import { TollgateError } from '../shared/errors.ts';

export class ReturnUrls {
  constructor(
    private readonly apps: AppsService,
    private readonly publicUrl: () => string,
  ) {}

  /** Refuses a URL outside the allowed origins with 400 `invalid_request` naming the field. */
  async assertAllowed(appId: string | null, urls: Record<string, string | undefined>): Promise<void> {
    for (const [field, url] of Object.entries(urls)) {
      if (url === undefined) continue;
      if (!(await this.allows(appId, url))) {
        throw new TollgateError(
          'invalid_request',
          `${field} must be on this server's origin or one of the app's return_origins (PATCH /v1/apps/{id})`,
          { param: field, origin: originOf(url) },
        );
      }
    }
  }

  async allows(appId: string | null, url: string): Promise<boolean> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return false;
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return false;
    if (appId === null) return parsed.origin === new URL(this.publicUrl()).origin;
    const app = await this.apps.get(appId);
    return this.apps.allowsReturnUrl(app, url, this.publicUrl());
  }
}

function originOf(url: string): string | null {
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
