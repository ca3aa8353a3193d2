import type { Request, Response } from 'express';
import type { Eta } from 'eta';
import { AppError, ValidationError } from '../http/errors.ts';

export type Render = (req: Request, res: Response, view: string, data?: object, status?: number) => void;

export function renderer(eta: Eta): Render {
  return (req, res, view, data = {}, status = 200) => {
    const c = req.console;
    const html = eta.render(`./${view}`, {
      user: c && c.stage === 'full' ? { name: c.user.name, email: c.user.email, role: c.user.role } : null,
      csrf: c?.csrf ?? '',
      path: req.path,
      errors: {},
      values: {},
      ...data,
    });
    res.status(status).type('html').send(html);
  };
}

/** Field errors by form field name: the API's JSON pointer `/services/0/probe/url` becomes `services.0.probe.url`. */
export function fieldErrors(err: unknown): { message: string; fields: Record<string, string> } | undefined {
  if (!(err instanceof AppError) || err.httpStatus >= 500) return undefined;
  const fields: Record<string, string> = {};
  for (const e of err instanceof ValidationError || err.errors ? (err.errors ?? []) : []) {
    const name = e.field.replace(/^\//, '').replace(/\//g, '.') || '_form';
    fields[name] ??= e.message;
  }
  return { message: err.message, fields };
}
