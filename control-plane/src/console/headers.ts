import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The headers of every page people open (the console, the clients' portal, the public status page): a strict
 * CSP with no inline script or style, and helmet's other headers.
 */
export function pageHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    // HSTS only means something over TLS; helmet sends it either way, and browsers ignore it on http.
    strictTransportSecurity: { maxAge: 31536000, includeSubDomains: false },
  });
}
