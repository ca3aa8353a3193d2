/**
 * The app assembled as main.ts does, on a pool that never connects (nothing connects until a query is made): for
 * what needs only the route definitions, on a machine with no PostgreSQL (CI, an image's build stage). The
 * OpenAPI document (client/generate.ts) and the build's validators (generate-validators.ts) come from it.
 */
import type express from 'express';
import pg from 'pg';
import { pino } from 'pino';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { createContext } from './context.ts';

export function offlineApp(): { app: express.Express; close: () => Promise<void> } {
  const config = loadConfig({ DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', LOG_LEVEL: 'silent' });
  const pool = new pg.Pool({ connectionString: config.databaseUrl });
  const app = createApp(createContext(config, pino({ level: 'silent' }), pool));
  return { app, close: () => pool.end() };
}
