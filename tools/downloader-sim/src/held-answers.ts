/** Answers held back by mode late: each waits its time, or is let go early (on stop, so the server can close). */
export class HeldAnswers {
  private readonly held = new Set<() => void>();

  /** Resolves after `ms`, or at releaseAll, whichever comes first. */
  hold(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const answer = () => {
        clearTimeout(timer);
        this.held.delete(answer);
        resolve();
      };
      const timer = setTimeout(answer, ms);
      this.held.add(answer);
    });
  }

  releaseAll(): void {
    for (const answer of [...this.held]) answer();
  }
}
