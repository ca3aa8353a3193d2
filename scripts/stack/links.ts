/** Links the banner prints only when they answer: Debian's Prometheus 2.42 serves its pages under /classic/. */

/** The first of `paths` that answers 200 at `base`, or undefined. */
export async function firstWorking(base: string, paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    const ok = await fetch(base + p, { redirect: 'manual' }).then(
      async (r) => {
        await r.body?.cancel();
        return r.status === 200;
      },
      () => false,
    );
    if (ok) return p;
  }
  return undefined;
}

/** Prometheus's alerts and targets pages as this Prometheus serves them (the React UI, else the classic one). */
export async function prometheusPages(base: string): Promise<string> {
  const pages: string[] = [];
  for (const page of ['alerts', 'targets']) {
    const p = await firstWorking(base, [`/${page}`, `/classic/${page}`]);
    pages.push(p ? `${page} ${base}${p}` : `${page}: no page answers (try /api/v1/${page})`);
  }
  return pages.join(', ');
}
