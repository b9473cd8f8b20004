/**
 * Output geometry shared by video, image and animation (docs/api.md#options): pixels or percentages, one
 * dimension keeps the aspect ratio, never upscale unless both dimensions and `fit` are given.
 * With both dimensions and no `fit`, the source is scaled to fit inside the box (no padding,
 * no upscaling).
 */
import type { z } from 'zod';
import type { Fit, Position } from '../../schemas/options.ts';

export interface ResizeRequest {
  width?: number | string | undefined;
  height?: number | string | undefined;
  fit?: z.infer<typeof Fit> | undefined;
  position?: z.infer<typeof Position> | undefined;
}

export type ResizePlan =
  /** Aspect ratio kept; output is exactly width × height. */
  | { mode: 'scale'; width: number; height: number }
  /** Scaled to inner size, padded to width × height with the image at (x, y). */
  | { mode: 'contain'; width: number; height: number; innerWidth: number; innerHeight: number; x: number; y: number }
  /** Scaled to cover scaledWidth × scaledHeight, then cropped to width × height at (x, y). */
  | { mode: 'cover'; width: number; height: number; scaledWidth: number; scaledHeight: number; x: number; y: number }
  /** Stretched to width × height. */
  | { mode: 'fill'; width: number; height: number };

export interface PlannedResize {
  plan: ResizePlan;
  notes: string[];
}

/**
 * The largest frame a plan makes: cover scales past the box before cropping, so a 16384×1 box
 * over a square source scales it to 16384×16384 first.
 *
 * @example
 * largestFrame({ mode: 'cover', width: 16384, height: 1, scaledWidth: 16384, scaledHeight: 16384, x: 0, y: 8191 }); // { width: 16384, height: 16384 }
 */
export function largestFrame(plan: ResizePlan): { width: number; height: number } {
  return plan.mode === 'cover' ? { width: plan.scaledWidth, height: plan.scaledHeight } : { width: plan.width, height: plan.height };
}

/** Rounds a size for codecs that need even dimensions (4:2:0 chroma), never below 2. */
export function evenDown(value: number): number {
  return Math.max(2, Math.floor(value / 2) * 2);
}

function resolve(value: number | string | undefined, source: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return value;
  return Math.max(1, Math.round((source * Number.parseFloat(value)) / 100));
}

function offset(free: number, anchor: 'start' | 'center' | 'end'): number {
  if (anchor === 'start') return 0;
  if (anchor === 'end') return free;
  return Math.floor(free / 2);
}

function anchors(position: ResizeRequest['position']): { h: 'start' | 'center' | 'end'; v: 'start' | 'center' | 'end' } {
  const p = position ?? 'center';
  return {
    h: p.includes('left') ? 'start' : p.includes('right') ? 'end' : 'center',
    v: p.includes('top') ? 'start' : p.includes('bottom') ? 'end' : 'center',
  };
}

/**
 * Plans the output size of a source shown at `source` (rotation already applied).
 *
 * @example
 * planResize({ width: 1920, height: 1080 }, { width: 640 }, { even: true }).plan; // { mode: 'scale', width: 640, height: 360 }
 */
export function planResize(source: { width: number; height: number }, request: ResizeRequest, { even }: { even: boolean }): PlannedResize {
  const notes: string[] = [];
  const round = even ? evenDown : (v: number) => Math.max(1, Math.round(v));
  const sw = source.width;
  const sh = source.height;
  const w = resolve(request.width, sw);
  const h = resolve(request.height, sh);

  if (w !== undefined && h !== undefined && request.fit) {
    const W = round(w);
    const H = round(h);
    const { h: ah, v: av } = anchors(request.position);
    if (request.fit === 'fill') return { plan: { mode: 'fill', width: W, height: H }, notes };
    if (request.fit === 'contain') {
      const scale = Math.min(W / sw, H / sh);
      const innerWidth = Math.min(W, round(sw * scale));
      const innerHeight = Math.min(H, round(sh * scale));
      return {
        plan: {
          mode: 'contain',
          width: W,
          height: H,
          innerWidth,
          innerHeight,
          x: offset(W - innerWidth, ah),
          y: offset(H - innerHeight, av),
        },
        notes,
      };
    }
    const scale = Math.max(W / sw, H / sh);
    const scaledWidth = Math.max(W, Math.ceil(sw * scale));
    const scaledHeight = Math.max(H, Math.ceil(sh * scale));
    return {
      plan: {
        mode: 'cover',
        width: W,
        height: H,
        scaledWidth,
        scaledHeight,
        x: offset(scaledWidth - W, ah),
        y: offset(scaledHeight - H, av),
      },
      notes,
    };
  }

  let scale = 1;
  if (w !== undefined && h !== undefined) scale = Math.min(w / sw, h / sh);
  else if (w !== undefined) scale = w / sw;
  else if (h !== undefined) scale = h / sh;
  if (scale > 1) {
    notes.push(`The source is ${sw}×${sh}; it was not upscaled (give both width and height with fit to enlarge).`);
    scale = 1;
  }
  // A lone dimension is honoured exactly; everything else follows the scale factor.
  const outW = w !== undefined && h === undefined && scale < 1 ? w : sw * scale;
  const outH = h !== undefined && w === undefined && scale < 1 ? h : sh * scale;
  const maxW = even ? evenDown(sw) : sw;
  const maxH = even ? evenDown(sh) : sh;
  return { plan: { mode: 'scale', width: Math.min(round(outW), maxW), height: Math.min(round(outH), maxH) }, notes };
}
