/** `start`/`end` handling shared by the ffmpeg encoders: validated against the probed duration. */
import type { ErrorBody } from '../../schemas/errors.ts';

export type TrimPlan =
  | {
      ok: true;
      start: number;
      end: number | undefined /** Seconds the output covers, if known. */;
      seconds: number | null;
      inputOptions: string[];
      notes: string[];
    }
  | { ok: false; error: ErrorBody };

/** Formats seconds the way notes and messages show them. */
export function secs(value: number): string {
  return `${Math.round(value * 1000) / 1000} s`;
}

/**
 * Checks `start`/`end` against the input and returns the `-ss`/`-t` input options (placed before
 * `-i`: fast, and frame-accurate because ffmpeg decodes from the previous keyframe).
 *
 * @example
 * planTrim(10, 2, 20); // { ok: true, start: 2, end: 10, seconds: 8, inputOptions: ['-ss', '2', '-t', '8'], notes: [...] }
 */
export function planTrim(duration: number | null, start?: number, end?: number): TrimPlan {
  const notes: string[] = [];
  const from = start ?? 0;
  if (duration !== null && from >= duration) {
    return {
      ok: false,
      error: {
        kind: 'invalid_input',
        message: `start ${secs(from)} is at or past the end of the input (${secs(duration)}); use a start below ${secs(duration)}.`,
      },
    };
  }
  let to = end;
  if (to !== undefined && duration !== null && to > duration) {
    notes.push(`end ${secs(to)} was past the end of the input; used ${secs(duration)}.`);
    to = undefined;
  }
  const inputOptions: string[] = [];
  if (from > 0) inputOptions.push('-ss', String(from));
  if (to !== undefined) inputOptions.push('-t', String(Math.round((to - from) * 1000) / 1000));
  const stop = to ?? duration;
  return { ok: true, start: from, end: to, seconds: stop === null ? null : Math.max(0, stop - from), inputOptions, notes };
}

/**
 * Shortens a plan to at most `maxSeconds` of output (a frame count at the output rate); a plan
 * that is already shorter is returned as it is.
 *
 * @example
 * capTrim(planTrim(10, 2), 1); // { ..., end: 3, seconds: 1, inputOptions: ['-ss', '2', '-t', '1'] }
 */
export function capTrim(plan: Extract<TrimPlan, { ok: true }>, maxSeconds: number): Extract<TrimPlan, { ok: true }> {
  if (plan.seconds !== null && plan.seconds <= maxSeconds) return plan;
  const seconds = Math.round(maxSeconds * 1000) / 1000;
  const inputOptions = [...(plan.start > 0 ? ['-ss', String(plan.start)] : []), '-t', String(seconds)];
  return { ...plan, end: plan.start + seconds, seconds, inputOptions };
}
