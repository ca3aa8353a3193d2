import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { requireTool } from './tools.ts';

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/**
 * Debian's Chromium, headless, driven by playwright-core, with a fresh profile in a temporary folder and no
 * background traffic (nothing beyond loopback).
 */
export async function startChromium(): Promise<Chromium> {
  requireTool('chromium');
  const userDataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await fs.rm(userDataDir, { recursive: true, force: true });
    },
  };
}
