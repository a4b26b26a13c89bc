// Runs a task over and over, waiting `interval()` after each run has finished (so a slow answer
// never stacks requests): not while the tab is hidden — back in view it runs at once, then at the
// usual pace — and not after `stop`.

export type VisibilityTarget = Pick<Document, 'visibilityState' | 'addEventListener' | 'removeEventListener'>;

export class Poller {
  readonly #task: () => Promise<void>;
  readonly #interval: () => number;
  readonly #document: VisibilityTarget | undefined;
  #running = false;
  #timer: ReturnType<typeof setTimeout> | undefined;

  /** `document` is where visibility changes are heard; the page's document by default. */
  constructor(task: () => Promise<void>, interval: () => number, document?: VisibilityTarget) {
    this.#task = task;
    this.#interval = interval;
    this.#document = document;
  }

  /** Runs the task now and keeps running it until `stop`. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#target?.addEventListener('visibilitychange', this.#onVisibilityChange);
    void this.#poll();
  }

  stop(): void {
    this.#running = false;
    this.#cancel();
    this.#target?.removeEventListener('visibilitychange', this.#onVisibilityChange);
  }

  /** Runs the task now, whether or not polling, and restarts the wait after it. */
  async runNow(): Promise<void> {
    this.#cancel();
    await this.#task();
    this.#schedule();
  }

  get #target(): VisibilityTarget | undefined {
    return this.#document ?? (typeof document === 'undefined' ? undefined : document);
  }

  get #hidden(): boolean {
    return this.#target?.visibilityState === 'hidden';
  }

  readonly #onVisibilityChange = (): void => {
    this.#cancel();
    // Back in view: what changed meanwhile shows at once, then the usual pace resumes.
    if (!this.#hidden) void this.#poll();
  };

  async #poll(): Promise<void> {
    if (!this.#running || this.#hidden) return;
    await this.#task();
    this.#schedule();
  }

  #schedule(): void {
    if (!this.#running || this.#hidden) return;
    this.#cancel();
    this.#timer = setTimeout(() => void this.#poll(), this.#interval());
  }

  #cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
