/**
 * Audio: MP3 (default), AAC in M4A (faststart), Vorbis in Ogg, Opus, WAV or FLAC from any input
 * with an audio stream, video included (docs/api.md#audio).
 */
import { join } from 'node:path';
import type { AudioOptions } from '../../schemas/options.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { planTrim } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { qualityTier } from '../video/quality.ts';

type AudioFormat = NonNullable<AudioOptions['format']>;

interface AudioTarget {
  ext: string;
  codec: string[];
  muxer: string[];
  lossless: boolean;
  /** Fixed output sample rate; otherwise 44.1/48 kHz sources keep theirs and others get 48 kHz. */
  sampleRate?: number;
  /** MIME type and short name when ffprobe's container name is not what users call it. */
  label?: { format: string; type: string };
}

const TARGETS: Record<AudioFormat, AudioTarget> = {
  mp3: { ext: 'mp3', codec: ['-c:a', 'libmp3lame'], muxer: ['-f', 'mp3'], lossless: false },
  aac: {
    ext: 'm4a',
    codec: ['-c:a', 'aac', '-profile:a', 'aac_low'],
    muxer: ['-movflags', '+faststart', '-f', 'ipod'],
    lossless: false,
  },
  ogg: { ext: 'ogg', codec: ['-c:a', 'libvorbis'], muxer: ['-f', 'ogg'], lossless: false },
  // Opus only runs at 48 kHz; anything else is resampled by the encoder anyway.
  opus: {
    ext: 'opus',
    codec: ['-c:a', 'libopus'],
    muxer: ['-f', 'opus'],
    lossless: false,
    sampleRate: 48_000,
    label: { format: 'opus', type: 'audio/ogg' },
  },
  wav: { ext: 'wav', codec: ['-c:a', 'pcm_s16le'], muxer: ['-f', 'wav'], lossless: true },
  flac: { ext: 'flac', codec: ['-c:a', 'flac'], muxer: ['-f', 'flac'], lossless: true },
};

/** The short name and MIME type an audio format's output is reported with, when it differs from the probe. */
export function audioLabel(format: AudioFormat): { format: string; type: string } | undefined {
  return TARGETS[format].label;
}

/**
 * Encodes the first audio stream of `ctx.inputPath` into `ctx.workDir`.
 *
 * @example
 * const result = await encodeAudio(ctx, { format: 'opus', bitrate: 96_000 });
 */
export async function encodeAudio(ctx: EncodeContext, options: AudioOptions): Promise<EncodeResult> {
  const { info, details } = ctx;
  if (!info.has_audio || !details.audio) {
    return {
      ok: false,
      error: { kind: 'no_audio_stream', message: 'The input has no audio stream, so there is nothing to encode as audio.' },
    };
  }
  const trim = planTrim(info.duration, options.start, options.end);
  if (!trim.ok) return trim;
  const format = options.format ?? 'mp3';
  const target = TARGETS[format];
  const notes = [...trim.notes];
  const bitrate = options.bitrate ?? qualityTier(options.quality).audioBitrate;
  if (target.lossless && options.bitrate !== undefined) notes.push(`bitrate is ignored for lossless ${format}.`);
  const source = details.audio.sampleRate;
  const sampleRate = target.sampleRate ?? (source === 44_100 || source === 48_000 ? source : 48_000);
  const channels = target.lossless ? details.audio.channels : Math.min(2, details.audio.channels);
  const output = join(ctx.workDir, `output.${target.ext}`);
  const ran = await encodeTrimmed(ctx, trim, {
    output,
    outputOptions: [
      '-map', '0:a:0', '-vn', '-sn', '-dn',
      ...target.codec,
      ...(target.lossless ? [] : ['-b:a', String(bitrate)]),
      '-ar', String(sampleRate), '-ac', String(channels),
      '-map_metadata', '-1', '-map_chapters', '-1',
      ...target.muxer,
    ],
  });
  if (!ran.ok) return ran;
  return target.label ? { ok: true, path: output, notes, override: target.label } : { ok: true, path: output, notes };
}
