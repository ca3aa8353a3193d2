// The loader hook of record-packages.mjs: posts each resolved package's name to the main thread.
let port;
export function initialize(data) {
  port = data.port;
}
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(r.url);
  if (m) port.postMessage(m[1]);
  return r;
}
