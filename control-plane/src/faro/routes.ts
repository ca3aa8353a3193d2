import express, { type NextFunction, type Request, type Response } from 'express';
import type { Api } from '../http/api.ts';
import { STAFF } from '../http/auth.ts';
import { sendProblem } from '../http/errors.ts';
import { RateLimiter } from './rate-limit.ts';
import * as schemas from './schemas.ts';
import type { FaroService, ResolvedKey } from './service.ts';

export const COLLECT_PATH = '/api/v1/faro/collect/:appKey';

// What the Faro web SDK's fetch transport sends besides Content-Type (x-api-key only when configured).
const ALLOWED_HEADERS = 'Content-Type, Content-Encoding, X-Faro-Session-Id, Idempotency-Key, X-Api-Key';

export interface ReceiverLimits {
  maxBodyBytes: number;
  ratePerSecond: number;
  rateBurst: number;
}

/**
 * The front half of `POST /api/v1/faro/collect/{appKey}`, mounted before the app's JSON parser: it resolves the
 * app key, checks the origin (CORS), answers preflights, applies the rate limit and only then reads the body,
 * under its own size limit. The Api route registered by faroRoutes validates the body and ingests it.
 * Order matters: a stranger's request costs one cached key lookup, never a JSON parse.
 */
export function faroReceiver(faro: FaroService, limits: ReceiverLimits): express.Router {
  const router = express.Router();
  const limiter = new RateLimiter(limits.ratePerSecond, limits.rateBurst);
  const parse = express.json({ limit: limits.maxBodyBytes, strict: true, type: () => true });

  const gate = async (req: Request, res: Response): Promise<ResolvedKey | undefined> => {
    const key = await faro.resolve(req.params.appKey as string);
    if (!key) {
      // 401, as Grafana Alloy's faro.receiver answers a bad key: the key is a credential, and a page moved
      // between the two receivers sees the same answer. Never a hint whether the key ever existed.
      res.setHeader('WWW-Authenticate', 'FaroAppKey realm="faro"');
      sendProblem(res, 401, 'unknown, expired or revoked Faro app key');
      return undefined;
    }
    const origin = req.header('origin');
    res.setHeader('Vary', 'Origin');
    if (!origin || !key.allowedOrigins.has(origin)) {
      // No Access-Control-Allow-Origin: the browser keeps the answer from the page and sends nothing more.
      sendProblem(
        res,
        403,
        origin
          ? 'this origin may not send with this app key'
          : 'an Origin header is required (browsers send one; add it when testing by hand)',
      );
      return undefined;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    return key;
  };

  router.options(COLLECT_PATH, async (req, res) => {
    if (!(await gate(req, res))) return;
    if (req.header('access-control-request-method')?.toUpperCase() !== 'POST')
      return sendProblem(res, 405, 'only POST is allowed here');
    res.setHeader('Access-Control-Allow-Methods', 'POST');
    res.setHeader('Access-Control-Allow-Headers', ALLOWED_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  router.post(COLLECT_PATH, async (req: Request, res: Response, next: NextFunction) => {
    const key = await gate(req, res);
    if (!key) return;
    // The SDK honours Retry-After on 429; a cross-origin page can read it only when exposed.
    res.setHeader('Access-Control-Expose-Headers', 'Retry-After');
    const wait = limiter.take(key.keyId);
    if (wait > 0) {
      res.setHeader('Retry-After', String(wait));
      return sendProblem(res, 429, `too many payloads for this app key; retry in ${wait} s`);
    }
    if (!req.is('application/json')) return sendProblem(res, 415, 'Content-Type must be application/json');
    res.locals.faroKey = key;
    // Too large (413, also when gzip inflates past the limit) and malformed JSON (400) reach the error handler.
    parse(req, res, next);
  });
  return router;
}

/** App key management (staff, audited) and the validated back half of the collect route. */
export function faroRoutes(api: Api, faro: FaroService): void {
  api.route<schemas.FaroPayload>({
    method: 'post',
    path: COLLECT_PATH,
    operationId: 'collectFaroPayload',
    problems: [401, 403, 429],
    summary:
      "Grafana Faro collector: a page's payload (web vitals, errors, sessions) becomes metrics of its instance. " +
      'The app key is the credential; only its instance origins may send (CORS). 202 accepted, 400 invalid, ' +
      '401 unknown key, 403 origin, 413 too large, 415 not JSON, 429 rate limited (Retry-After)',
    tag: 'faro',
    roles: 'custom',
    body: schemas.payload,
    status: 202,
    handler: ({ res, body }) => {
      const key = res.locals.faroKey as ResolvedKey | undefined;
      if (!key) throw new Error('faro receiver gate did not run before the collect route');
      return { accepted: faro.ingest(key, body) };
    },
  });
  api.route({
    method: 'get',
    path: '/api/v1/instances/:id/faro-keys',
    operationId: 'listFaroKeys',
    responseSchema: schemas.keyList,
    summary: "The instance's Faro app keys, current and rotated out (never the keys themselves)",
    tag: 'faro',
    roles: STAFF,
    handler: ({ auth, params }) => faro.listKeys(auth, params.id!),
  });
  api.route<schemas.KeyInput>({
    method: 'post',
    path: '/api/v1/instances/:id/faro-keys',
    operationId: 'createFaroKey',
    responseSchema: schemas.issuedKey,
    summary:
      "Creates the instance's Faro app key; the key is in this answer only (409 if it has one: rotate)",
    tag: 'faro',
    roles: STAFF,
    body: schemas.createKey,
    status: 201,
    handler: ({ auth, req, params, body }) => faro.createKey(auth, req.id, params.id!, body),
  });
  api.route<schemas.RotateInput>({
    method: 'post',
    path: '/api/v1/instances/:id/faro-keys/rotate',
    operationId: 'rotateFaroKey',
    responseSchema: schemas.issuedKey,
    summary: 'Replaces the current app key; the old one works graceSeconds more (default 0)',
    tag: 'faro',
    roles: STAFF,
    body: schemas.rotateKey,
    status: 201,
    handler: ({ auth, req, params, body }) => faro.rotateKey(auth, req.id, params.id!, body),
  });
  api.route<schemas.KeyInput>({
    method: 'patch',
    path: '/api/v1/instances/:id/faro-keys/current',
    operationId: 'updateFaroKey',
    summary: "Changes the current key's allowed origins or page routes",
    tag: 'faro',
    roles: STAFF,
    body: schemas.updateKey,
    handler: ({ auth, req, params, body }) => faro.updateKey(auth, req.id, params.id!, body),
  });
  api.route({
    method: 'post',
    path: '/api/v1/instances/:id/faro-keys/revoke',
    operationId: 'revokeFaroKeys',
    summary: 'Stops every working app key of the instance at once',
    tag: 'faro',
    roles: STAFF,
    handler: ({ auth, req, params }) => faro.revokeKeys(auth, req.id, params.id!),
  });
}
