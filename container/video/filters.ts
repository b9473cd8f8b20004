/**
 * The `-vf` chain every ffmpeg video output shares: deinterlacing, HDR tone mapping, resize
 * (scale, pad, crop) to square pixels, colour matrix to BT.709, frame rate and pixel format
 * (dithered from deeper sources). Rotation is not here: ffmpeg autorotates on decode (it applies
 * the display matrix with transpose/flip filters, which also turn the sample aspect ratio).
 * Full-range sources need nothing here: ffmpeg 5.1's scaler reads each frame's range, so
 * `out_range=tv` (and the scaler ffmpeg inserts for a bare `format`) converts their levels.
 */
import type { ProbeDetails } from '../probe/index.ts';
import { HDR_TRANSFERS } from '../probe/index.ts';
import type { ResizePlan } from '../resize/index.ts';

export interface VideoFilterOptions {
  plan: ResizePlan;
  details: ProbeDetails;
  /** `#rrggbb` padding for contain. */
  background?: string | undefined;
  /** Output frame rate as a number or an ffmpeg rational; omitted keeps the source timing. */
  fps?: string | number | undefined;
  /** Final pixel format; omitted leaves it to the encoder (gif/webp palettes). */
  pixFmt?: string | undefined;
  /**
   * Displayed source size ({@link displaySize}); when the plan keeps it, the pixels are square and
   * the matrix is already BT.709, no scaler runs.
   */
  source?: { width: number; height: number } | undefined;
}

/** True when the source is PQ or HLG HDR and must be tone mapped for SDR delivery. */
export function isHdr(details: ProbeDetails): boolean {
  return Boolean(details.video?.transfer && HDR_TRANSFERS.has(details.video.transfer));
}

/**
 * HDR → SDR BT.709. This ffmpeg has zscale (libzimg) and tonemap, so we linearise with zscale,
 * tone map with Hable (keeps highlights without clipping skin tones), then convert primaries,
 * transfer and matrix to BT.709 limited range. The input tags are passed explicitly because
 * many phone files carry them only in the bitstream.
 */
export function toneMapFilters(details: ProbeDetails): string[] {
  const transfer = details.video?.transfer ?? 'smpte2084';
  return [
    `zscale=tin=${transfer}:pin=bt2020:min=2020_ncl:rin=tv:t=linear:npl=100`,
    'format=gbrpf32le',
    'zscale=p=bt709',
    'tonemap=tonemap=hable:desat=0',
    'zscale=t=bt709:m=bt709:r=tv',
  ];
}

/** The source's colour matrix, guessing by size when untagged (players do the same). */
function inputMatrix(details: ProbeDetails): string {
  const matrix = details.video?.matrix;
  if (matrix === 'bt709') return 'bt709';
  if (matrix === 'bt470bg' || matrix === 'smpte170m') return 'bt601';
  if (matrix === 'smpte240m') return 'smpte240m';
  if (matrix === 'bt2020nc' || matrix === 'bt2020c') return 'bt2020';
  return (details.video?.codedHeight ?? 0) >= 720 ? 'bt709' : 'bt601';
}

/**
 * Interlaced sources are deinterlaced first, while each frame still holds both fields line by
 * line (a scaler would blend them into combs). bwdif (yadif's successor, sharper on still detail)
 * gives one frame per frame, so the frame rate and the frame count stay the source's;
 * `deint=all` because encoders often mark every frame of an interlaced stream.
 */
export const DEINTERLACE_FILTER = 'bwdif=mode=send_frame:parity=auto:deint=all';

/**
 * 10/12-bit SDR to 8-bit: swscale truncates, which turns a smooth 10-bit sky into 8-bit bands
 * four source levels wide; zimg's error diffusion spreads the remainder over neighbouring pixels
 * instead. It runs last, on the resized frame, so it is never scaled away.
 */
export const DITHER_FILTER = 'zscale=dither=error_diffusion';

/** Filters that come before everything else for this source (deinterlacing). */
export function sourceFilters(details: ProbeDetails): string[] {
  return details.video?.interlaced ? [DEINTERLACE_FILTER] : [];
}

/**
 * True for an SDR source with more than 8 bits per sample (`yuv420p10le`, `p010le`, `rgb48le`, …).
 * HDR is not dithered here: zimg tone maps it in float and hands over RGB, which the dither
 * filter could only turn into YUV by guessing a matrix.
 */
export function needsDither(details: ProbeDetails): boolean {
  return !isHdr(details) && /(?:9|1[0-6]|48|64)(?:le|be)$/.test(details.video?.pixFmt ?? '');
}

function colour(background: string | undefined): string {
  return `0x${(background ?? '#000000').slice(1)}`;
}

/**
 * Builds the `-vf` filter list.
 *
 * @example
 * videoFilters({ plan: { mode: 'scale', width: 640, height: 360 }, details, fps: '30', pixFmt: 'yuv420p' }).join(',');
 */
export function videoFilters({ plan, details, background, fps, pixFmt, source }: VideoFilterOptions): string[] {
  const filters = sourceFilters(details);
  const hdr = isHdr(details);
  if (hdr) filters.push(...toneMapFilters(details));
  const matrix = hdr ? 'bt709' : inputMatrix(details);
  const scale = (w: number, h: number) => `scale=${w}:${h}:flags=lanczos:in_color_matrix=${matrix}:out_color_matrix=bt709:out_range=tv`;
  // A same-size BT.709 → BT.709 scale is a no-op that costs ~7 % of a 1080p encode (bench/README.md).
  const square = (details.video?.sar ?? 1) === 1;
  const unchanged = plan.mode === 'scale' && square && source?.width === plan.width && source.height === plan.height && matrix === 'bt709';
  switch (plan.mode) {
    case 'scale':
      if (!unchanged) filters.push(scale(plan.width, plan.height));
      break;
    case 'fill':
      filters.push(scale(plan.width, plan.height));
      break;
    case 'contain':
      filters.push(
        scale(plan.innerWidth, plan.innerHeight),
        `pad=${plan.width}:${plan.height}:${plan.x}:${plan.y}:color=${colour(background)}`,
      );
      break;
    case 'cover':
      filters.push(scale(plan.scaledWidth, plan.scaledHeight), `crop=${plan.width}:${plan.height}:${plan.x}:${plan.y}`);
      break;
  }
  filters.push('setsar=1');
  if (fps !== undefined) filters.push(`fps=${fps}`);
  if (pixFmt) filters.push(...(needsDither(details) ? [DITHER_FILTER] : []), `format=${pixFmt}`);
  return filters;
}

/** Output frame rate when none was asked for: the source's average, capped at 60 (docs/api.md#video). */
export function defaultFps(details: ProbeDetails): string {
  const rate = details.video?.rate;
  if (!rate) return '30';
  const [num, den] = rate.split('/').map(Number);
  const value = den ? (num ?? 30) / den : (num ?? 30);
  if (!Number.isFinite(value) || value <= 0) return '30';
  if (value > 60) return '60';
  // Snap VFR averages such as 20.69 to a clean rate; keep NTSC rationals (30000/1001) as they are.
  if (den === 1001) return rate;
  return String(Math.round(value * 100) / 100);
}
