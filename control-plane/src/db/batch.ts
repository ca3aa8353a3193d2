/**
 * Calls made while `concurrency` runs are on their way wait and go together in the next run: under load many
 * calls share one round trip, while a call made with a run free goes at once (no timer, no added wait). A run
 * that fails fails each of its calls.
 */
export class Batcher<In, Out> {
  private readonly queue: { input: In; resolve: (out: Out) => void; reject: (err: unknown) => void }[] = [];
  private running = 0;
  constructor(
    /** Runs a batch; answers one output per input, in order. */
    private readonly run: (inputs: In[]) => Promise<Out[]>,
    private readonly concurrency: number,
    private readonly max = 100,
  ) {}

  call(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    while (this.running < this.concurrency && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.max);
      this.running++;
      this.run(batch.map((b) => b.input))
        .then(
          (outs) => batch.forEach((b, i) => b.resolve(outs[i]!)),
          (err: unknown) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.running--;
          this.next();
        });
    }
  }
}
