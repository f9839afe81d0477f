/**
 * Coalesced syncs of a write-ahead log: a call made while a sync runs waits for that one and then
 * for one more (which covers its commit), shared with every call made meanwhile. So at most one
 * sync runs at a time, and each commit waits for at most two.
 */
export class LogSync {
  private running: Promise<void> | undefined;
  private next: Promise<void> | undefined;

  constructor(private readonly sync: () => Promise<void>) {}

  /** Resolves once everything committed before this call is on disk; rejects if the sync failed. */
  afterCommits(): Promise<void> {
    if (this.next) return this.next;
    const running = this.running;
    if (!running) return this.start();
    // The running sync may have begun before the caller's commit: the one after it covers it.
    this.next = running.then(
      () => this.start(),
      () => this.start(),
    );
    return this.next;
  }

  /** Resolves once no sync is running or waiting (failures included). */
  async idle(): Promise<void> {
    while (this.running || this.next) await (this.next ?? this.running)?.catch(() => {});
  }

  private start(): Promise<void> {
    this.next = undefined;
    const run = this.sync().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }
}
