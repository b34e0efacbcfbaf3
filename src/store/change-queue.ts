/**
 * An async iterable fed by callbacks: how both backends turn watch callbacks into
 * `for await (const change of store.watch(signal))`. It ends when the signal aborts.
 */
export class ChangeQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(signal: AbortSignal, onEnd: () => void) {
    const end = () => {
      this.ended = true;
      onEnd();
      this.wake?.();
    };
    if (signal.aborted) end();
    else signal.addEventListener('abort', end, { once: true });
  }

  push(item: T): void {
    if (this.ended) return;
    this.items.push(item);
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}
