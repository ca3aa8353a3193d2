import type { Auth } from './auth.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** Request id: the caller's X-Request-Id when well-formed, else a new UUID. */
    id: string;
    auth?: Auth;
  }
}
export {};
