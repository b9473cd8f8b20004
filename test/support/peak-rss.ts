/**
 * Peak resident memory of this process's ffmpeg children, read from /proc (Linux only). Each
 * child's VmHWM is its own high-water mark, so sampling it now and then still catches the peak
 * of everything but the last moments before an exit.
 */
import { readdir, readFile } from 'node:fs/promises';

/** How often /proc is scanned for children: often enough to see each short ffmpeg pass. */
const SAMPLE_EVERY_MS = 20;

async function childFfmpegPeaksKb(): Promise<Map<number, number>> {
  const peaks = new Map<number, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, 'utf8');
      if (!/^Name:\s+ffmpeg$/m.test(status) || !new RegExp(`^PPid:\\s+${process.pid}$`, 'm').test(status)) continue;
      const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(status);
      if (hwm) peaks.set(Number(entry), Number(hwm[1]));
    } catch {
      // The process exited between readdir and readFile.
    }
  }
  return peaks;
}

/**
 * Samples until `stop()`, which resolves with the largest peak RSS (bytes) of any single ffmpeg
 * child and the largest sum over children alive at the same time.
 *
 * @example
 * const watch = watchFfmpegPeakRss();
 * await runJob('animation', input, { end: 60 });
 * const { single } = await watch.stop(); // bytes
 */
export function watchFfmpegPeakRss(): { stop: () => Promise<{ single: number; concurrent: number; children: number }> } {
  const seen = new Map<number, number>();
  let concurrent = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const now = await childFfmpegPeaksKb();
      let sum = 0;
      for (const [pid, kb] of now) {
        seen.set(pid, Math.max(seen.get(pid) ?? 0, kb));
        sum += kb;
      }
      concurrent = Math.max(concurrent, sum);
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_EVERY_MS));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { single: Math.max(0, ...seen.values()) * 1024, concurrent: concurrent * 1024, children: seen.size };
    },
  };
}
