/**
 * Audio: MP3 (default), AAC in M4A (faststart), Vorbis in Ogg, Opus, WAV or FLAC from any input
 * with an audio stream, video included (docs/api.md#audio).
 */
import { join } from 'node:path';
import type { ErrorBody } from '../../schemas/errors.ts';
import { defaultFormat, extensionFor, mimeFor } from '../../schemas/formats.ts';
import { type AudioOptions, DEFAULT_TARGET_LUFS } from '../../schemas/options.ts';
import { encodeTrimmed } from '../ffmpeg/encode.ts';
import { overLimitError } from '../limits.ts';
import { planTrim, secs } from '../trim/index.ts';
import type { EncodeContext, EncodeResult } from '../types.ts';
import { audioBitrate } from './quality.ts';

type AudioFormat = NonNullable<AudioOptions['format']>;

interface AudioTarget {
  codec: string[];
  muxer: string[];
  lossless: boolean;
  /** Fixed output sample rate; otherwise 44.1/48 kHz sources keep theirs and others get 48 kHz. */
  sampleRate?: number;
  /** Report the output under Kiln's format name, not the container name ffprobe reads back. */
  relabel?: true;
}

const TARGETS: Record<AudioFormat, AudioTarget> = {
  mp3: { codec: ['-c:a', 'libmp3lame'], muxer: ['-f', 'mp3'], lossless: false },
  aac: {
    codec: ['-c:a', 'aac', '-profile:a', 'aac_low'],
    muxer: ['-movflags', '+faststart', '-f', 'ipod'],
    lossless: false,
  },
  ogg: { codec: ['-c:a', 'libvorbis'], muxer: ['-f', 'ogg'], lossless: false },
  // Opus only runs at 48 kHz; anything else is resampled by the encoder anyway. ffprobe reads it back as ogg.
  opus: { codec: ['-c:a', 'libopus'], muxer: ['-f', 'opus'], lossless: false, sampleRate: 48_000, relabel: true },
  wav: { codec: ['-c:a', 'pcm_s16le'], muxer: ['-f', 'wav'], lossless: true },
  flac: { codec: ['-c:a', 'flac'], muxer: ['-f', 'flac'], lossless: true },
};

/** 16-bit PCM: the bytes a WAV output takes per sample and channel. */
const WAV_BYTES_PER_SAMPLE = 2;

/**
 * Refuses a lossless output that is over a limit before it is written: lossless keeps every
 * source channel, and its size grows with channels × duration instead of with a bitrate.
 */
function losslessLimitError(
  format: AudioFormat,
  { channels, seconds, sampleRate }: { channels: number; seconds: number | null; sampleRate: number },
  limits: EncodeContext['limits'],
): ErrorBody | null {
  if (channels > limits.maxAudioChannels) {
    return overLimitError(
      'maxAudioChannels',
      limits.maxAudioChannels,
      `The input has ${channels} audio channels and lossless ${format} keeps them all`,
      'use a lossy format (mixed down to stereo)',
    );
  }
  if (seconds === null) return null;
  if (seconds > limits.maxLosslessAudioS) {
    return overLimitError(
      'maxLosslessAudioS',
      limits.maxLosslessAudioS,
      `A lossless ${format} output of ${secs(seconds)} is too long`,
      'ask for a shorter clip (start/end) or a lossy format',
    );
  }
  const wavBytes = Math.ceil(seconds * sampleRate) * channels * WAV_BYTES_PER_SAMPLE;
  if (format === 'wav' && wavBytes > limits.maxOutputBytes) {
    return overLimitError(
      'maxOutputBytes',
      limits.maxOutputBytes,
      `A ${secs(seconds)} ${channels}-channel WAV would be ${wavBytes} bytes`,
      'ask for a shorter clip (start/end), flac or a lossy format',
    );
  }
  return null;
}

/** True peak ceiling after normalising, in dBTP: the EBU R128 / podcast-platform norm, with room for lossy encoding. */
export const LOUDNORM_TRUE_PEAK_DB = -1.5;
/**
 * Loudness range, in LU, within which loudnorm applies one gain to the whole file (linear mode);
 * a wider-ranging input is compressed towards it instead (dynamic mode).
 */
export const LOUDNORM_RANGE_LU = 11;

interface LoudnessMeasure {
  input_i: number;
  input_tp: number;
  input_lra: number;
  input_thresh: number;
  target_offset: number;
}

const MEASURE_KEYS = ['input_i', 'input_tp', 'input_lra', 'input_thresh', 'target_offset'] as const;

/**
 * Collects loudnorm's first-pass report (`"input_i" : "-27.61",` lines after the JSON opens).
 * `read()` is null when a value is missing or not finite (silence measures -inf).
 */
function loudnessReader(): { onStderr: (line: string) => void; read: () => LoudnessMeasure | null } {
  const seen = new Map<string, number>();
  return {
    onStderr: (line) => {
      const match = /"(\w+)"\s*:\s*"([^"]*)"/.exec(line);
      if (match?.[1] && match[2] !== undefined) seen.set(match[1], Number(match[2]));
    },
    read: () => {
      const values = MEASURE_KEYS.map((key) => seen.get(key));
      if (!values.every((v) => v !== undefined && Number.isFinite(v))) return null;
      return Object.fromEntries(MEASURE_KEYS.map((key, i) => [key, values[i]])) as unknown as LoudnessMeasure;
    },
  };
}

/**
 * The loudnorm filter: with a first-pass measure, one gain for the whole file (loudnorm falls
 * back to dynamic mode itself when the range or the peaks do not allow it); without one, dynamic.
 */
function loudnormFilter(target: number, measure: LoudnessMeasure | null, report = false): string {
  const base = `loudnorm=I=${target}:TP=${LOUDNORM_TRUE_PEAK_DB}:LRA=${LOUDNORM_RANGE_LU}`;
  if (report) return `${base}:print_format=json`;
  if (!measure) return base;
  // biome-ignore format: loudnorm's measured_* options, one per first-pass value
  return `${base}:measured_I=${measure.input_i}:measured_TP=${measure.input_tp}:measured_LRA=${measure.input_lra}:measured_thresh=${measure.input_thresh}:offset=${measure.target_offset}:linear=true`;
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
  const format = options.format ?? defaultFormat('audio');
  const target = TARGETS[format];
  const notes = [...trim.notes];
  const bitrate = options.bitrate ?? audioBitrate(options.quality);
  if (target.lossless && options.bitrate !== undefined) notes.push(`bitrate is ignored for lossless ${format}.`);
  const source = details.audio.sampleRate;
  const sampleRate = target.sampleRate ?? (source === 44_100 || source === 48_000 ? source : 48_000);
  const channels = target.lossless ? details.audio.channels : Math.min(2, details.audio.channels);
  const overLimit = target.lossless ? losslessLimitError(format, { channels, seconds: trim.seconds, sampleRate }, ctx.limits) : null;
  if (overLimit) return { ok: false, error: overLimit };
  const output = join(ctx.workDir, `output.${extensionFor('audio', format)}`);
  const targetLufs = options.target_lufs ?? DEFAULT_TARGET_LUFS;
  const loudness = loudnessReader();
  const encodePass = (filters: string[]) => ({
    output,
    // biome-ignore format: ffmpeg arguments read as flag/value pairs
    outputOptions: [
      '-map', '0:a:0', '-vn', '-sn', '-dn',
      ...(filters.length > 0 ? ['-af', filters.join(',')] : []),
      ...target.codec,
      ...(target.lossless ? [] : ['-b:a', String(bitrate)]),
      '-ar', String(sampleRate), '-ac', String(channels),
      '-map_metadata', '-1', '-map_chapters', '-1',
      ...target.muxer,
    ],
  });
  // Decoding is most of an audio encode's cost: the measuring pass is about a third of the work.
  const ran = options.normalize
    ? await encodeTrimmed(
        ctx,
        trim,
        {
          output: '/dev/null',
          outputOptions: ['-map', '0:a:0', '-vn', '-sn', '-dn', '-af', loudnormFilter(targetLufs, null, true), '-f', 'null'],
          onStderr: loudness.onStderr,
          weight: 1,
        },
        { weight: 2, build: () => encodePass([loudnormFilter(targetLufs, loudness.read())]) },
      )
    : await encodeTrimmed(ctx, trim, encodePass([]));
  if (!ran.ok) return ran;
  if (options.normalize) {
    const measured = loudness.read();
    notes.push(
      measured
        ? `Loudness normalised from ${measured.input_i} to ${targetLufs} LUFS.`
        : `The input's loudness could not be measured (silence?); normalised to ${targetLufs} LUFS in one pass.`,
    );
  }
  if (!target.relabel) return { ok: true, path: output, notes };
  return { ok: true, path: output, notes, override: { format, type: mimeFor('audio', format) } };
}
