/** A one-line progress bar on stderr, drawn only when stderr is a terminal. */

const BAR_WIDTH = 30;

export interface ProgressBar {
  update(stage: string, percent: number): void;
  done(): void;
}

/**
 * @example
 * const bar = progressBar(process.stderr);
 * bar.update('encode', 42);
 * bar.done();
 */
export function progressBar(stream: NodeJS.WriteStream): ProgressBar {
  if (!stream.isTTY) return { update() {}, done() {} };
  let drawn = false;
  return {
    update(stage, percent) {
      const p = Math.max(0, Math.min(100, Math.round(percent)));
      const filled = Math.round((p / 100) * BAR_WIDTH);
      stream.write(`\r${stage.padEnd(7)} [${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${String(p).padStart(3)}%`);
      drawn = true;
    },
    done() {
      if (drawn) stream.write('\r\x1b[2K');
      drawn = false;
    },
  };
}
