// What the browser tests of the webviews share (webview.test.ts, steering.test.ts, compare.test.ts): headless Chromium
// and the page server (harness.ts) for the test file, a view opened with the fake VS Code API, messages to and from
// it, the checks a test ends with, and screenshots (test-output/screenshots, some copied to docs/images).
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { buildBundles, launchChromium, ROOT, startServer, type ThemeName } from './harness';
import type { HostToWebview } from '../../src/shared/protocol';

export const SHOTS = join(ROOT, 'test-output', 'screenshots');
export const DOCS_IMAGES = join(ROOT, 'docs', 'images');

export type View = 'panel' | 'heatmap' | 'steering';

/**
 * Builds the bundles, starts the page server and Chromium before the file's tests and stops them after. Returns
 * open(view, theme, dpr): a new 1100 × 900 page of the view, once it has posted 'ready'; its page errors are kept for
 * noProblems.
 */
export function useBrowser(): (view: View, theme?: ThemeName, dpr?: number) => Promise<Page> {
  let browser: Browser | undefined;
  let server: Server | undefined;
  let origin = '';
  let cleanup: () => void = () => undefined;
  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    mkdirSync(DOCS_IMAGES, { recursive: true });
    await buildBundles();
    ({ server, origin } = await startServer());
    ({ browser, cleanup } = await launchChromium());
  });
  after(async () => {
    await browser?.close();
    server?.close();
    cleanup();
  });
  return async (view, theme = 'dark', dpr = 1) => {
    assert.ok(browser, 'no browser');
    const ctx = await browser.newContext({ viewport: { width: 1100, height: 900 }, deviceScaleFactor: dpr });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    (page as unknown as { __errors: string[] }).__errors = errors;
    await page.goto(`${origin}/${view}.html?theme=${theme}`);
    await page.waitForFunction(() => (window as any).__posted?.some((m: any) => m.type === 'ready'));
    return page;
  };
}

/** A message from the host, as VS Code delivers it (window message event). */
export async function send(page: Page, msg: HostToWebview): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), msg as unknown as Record<string, unknown>);
}

/** Every message the view has posted to the host (since the page opened or the last clear). */
export async function posted(page: Page): Promise<any[]> {
  return page.evaluate(() => (window as any).__posted);
}

/** No CSP violation and no page error so far. */
export async function noProblems(page: Page): Promise<void> {
  assert.deepEqual(await page.evaluate(() => (window as any).__csp), [], 'no CSP violations');
  assert.deepEqual((page as unknown as { __errors: string[] }).__errors, [], 'no page errors');
}

/** Sets a <select> (or vscode-single-select) and fires its change event. */
export async function setSelect(page: Page, id: string, value: string): Promise<void> {
  await page.evaluate(
    ([id, value]) => {
      const s = document.getElementById(id) as any;
      s.value = value;
      s.dispatchEvent(new Event('change'));
    },
    [id, value],
  );
}

/**
 * A screenshot test-output/screenshots/<name>: the full page, or the element `element`; with `docs`, also copied to
 * docs/images/<name>.
 */
export async function screenshot(page: Page, name: string, opts: { element?: string; docs?: boolean } = {}): Promise<void> {
  const file = join(SHOTS, name);
  if (opts.element) await page.locator(opts.element).screenshot({ path: file });
  else await page.screenshot({ path: file, fullPage: true });
  if (opts.docs) copyFileSync(file, join(DOCS_IMAGES, name));
}
