/**
 * axe-core in a Playwright page: evaluates `axe.min.js` (once per document) and runs the WCAG 2.1 A/AA
 * rules on what the page shows now. Answers each violation as "rule: target, …" so a failing
 * assertion says what to fix.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Frame, Page } from 'playwright-core';
import { expect } from 'vitest';
import { DESKTOP, fitsWidth, PHONE, screenshotBoth } from './chromium.ts';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** The violations in a page, or in one frame (the widget's iframe). */
export async function axeViolations(page: Page | Frame): Promise<string[]> {
  // Evaluated through the DevTools protocol: the pages' CSP (script-src 'self') refuses inline scripts.
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE_SOURCE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: any }).axe;
    const result = await axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
    });
    return result.violations.map(
      (violation: { id: string; nodes: { target: string[] }[] }) =>
        `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
    );
  });
}

/**
 * The page passes axe at desktop and at phone width, nothing is wider than the phone, and both widths
 * are screenshotted under `name` (the page is left at desktop width).
 */
export async function expectAccessibleAtBothWidths(page: Page, name: string): Promise<void> {
  await page.setViewportSize(DESKTOP);
  expect(await axeViolations(page)).toEqual([]);
  await page.setViewportSize(PHONE);
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => resolve(null))));
  expect(await axeViolations(page)).toEqual([]);
  expect(await fitsWidth(page)).toBe(true);
  await screenshotBoth(page, name);
}
