/** The contract between `process/` and the per-kind encoders. */
import type { ErrorBody } from '../schemas/errors.ts';
import type { MediaInfo } from '../schemas/file.ts';
import type { Limits } from './limits.ts';
import type { ProbeDetails } from './probe/index.ts';

export interface EncodeContext {
  inputPath: string;
  /** Fresh directory the encoder writes its output (and scratch files) into. */
  workDir: string;
  info: MediaInfo;
  details: ProbeDetails;
  limits: Limits;
  /** The name the job's output asked for, for a multi-file output's main file (the master playlist). */
  outputName?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Encode progress, 0–100. */
  onProgress?: ((percent: number) => void) | undefined;
}

/** An encoder's outcome: the output path plus notes the user should see, or an expected failure. */
export type EncodeResult =
  | {
      ok: true;
      path: string;
      notes: string[];
      /** Overrides the probe of the output, e.g. format and MIME type for opus-in-ogg and HLS playlists. */
      override?: Partial<MediaInfo>;
    }
  | { ok: false; error: ErrorBody };
