/**
 * Progress of long operations: one line rewritten in place on a terminal, plain lines (only when
 * the text changes) when output goes to a file or a pipe.
 */
export class Progress {
  private last = '';
  private shown = false;

  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  update(text: string): void {
    if (text === this.last) return;
    this.last = text;
    if (this.out.isTTY) {
      this.out.write(`\r\x1b[2K${text.slice(0, (this.out.columns ?? 120) - 1)}`);
      this.shown = true;
    } else if (text) {
      this.out.write(`${text}\n`);
    }
  }

  /** Clears the in-place line so the next output starts clean. */
  done(): void {
    if (this.shown) this.out.write('\r\x1b[2K');
    this.shown = false;
    this.last = '';
  }
}
