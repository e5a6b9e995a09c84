/**
 * The app's look on its customers' dashboard (`GET /v1/credits/app`): its name and logo in the
 * header, its accent colour, and a link back to the app. An accent too light to carry white text
 * (contrast under 4.5:1) is not used: the page stays readable whatever the app chose.
 */
import type { Api } from './api.ts';
import { h } from './dom.ts';

export interface AppBranding {
  name: string;
  logo_url: string | null;
  accent_color: string | null;
  website_url: string | null;
}

export function loadBranding(api: Api): Promise<AppBranding | null> {
  return api.get<AppBranding>('/v1/credits/app').catch(() => null);
}

/** WCAG relative luminance of `#rrggbb`. */
function luminance(color: string): number {
  const channels = [1, 3, 5].map((start) => Number.parseInt(color.slice(start, start + 2), 16) / 255);
  const [red, green, blue] = channels.map((value) =>
    value <= 0.03928 ? value / 12.92 : ((value + 0.055) / 1.055) ** 2.4,
  ) as [number, number, number];
  return 0.2126 * red + 0.7152 * green + 0.0722 * blue;
}

/** The accent to use, or null when it is missing, malformed or too light for white text. */
export function usableAccent(color: string | null): string | null {
  if (!color || !/^#[0-9a-f]{6}$/i.test(color)) return null;
  return 1.05 / (luminance(color) + 0.05) >= 4.5 ? color.toLowerCase() : null;
}

/** The header's brand: the app's logo (or the plain mark) and its name. */
export function brandContent(branding: AppBranding | null): (HTMLElement | string)[] {
  const logo = branding?.logo_url?.startsWith('https://')
    ? h('img', {
        class: 'logo',
        src: branding.logo_url,
        alt: '',
        width: 26,
        height: 26,
        'data-testid': 'app-logo',
      })
    : h('span', { class: 'logo', 'aria-hidden': 'true' });
  return [logo, branding?.name ?? 'Credits'];
}

/** Sets the accent colour for the whole page. */
export function applyAccent(branding: AppBranding | null): void {
  const accent = usableAccent(branding?.accent_color ?? null);
  if (!accent) return;
  document.documentElement.style.setProperty('--brand', accent);
  document.documentElement.style.setProperty('--brand-dark', accent);
}

/** "Back to <app>" when the app gave its address. */
export function backToApp(branding: AppBranding | null): HTMLElement | null {
  if (!branding?.website_url?.startsWith('https://')) return null;
  return h(
    'a',
    { href: branding.website_url, rel: 'noopener', class: 'back-to-app', 'data-testid': 'back-to-app' },
    `Back to ${branding.name}`,
  );
}
