import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Page } from 'playwright-core';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let axeSource: string | undefined;

/**
 * Keeps a full-page screenshot of `page` as `<dir>/<name>.png` and asserts that axe-core finds no serious or
 * critical violation on it as it is.
 */
export async function screenshotAndAxe(page: Page, dir: string, name: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  axeSource ??= await fs.readFile(AXE, 'utf8');
  // Runtime.evaluate is not subject to the page's CSP, which (rightly) refuses an injected script tag.
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: { run(): Promise<{ violations: { id: string; impact: string; help: string }[] }> };
      }
    ).axe;
    return (await axe.run()).violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help }));
  });
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: accessibility violations`);
}

/** At a phone's width the page itself does not scroll sideways (wide tables stack or scroll in their box). */
export async function fitsPhone(page: Page, dir: string, name: string, width = 375): Promise<void> {
  const before = page.viewportSize();
  await page.setViewportSize({ width, height: 812 });
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
  if (before) await page.setViewportSize(before);
  assert.ok(scroll <= client, `${name}: the page scrolls sideways at ${width} px (${scroll} > ${client})`);
}
