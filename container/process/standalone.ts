/**
 * The standalone run kinds behind POST /tasks: `probe` describes the input, `copy` stores it
 * unchanged (an import or an export). Neither encodes, but both probe with the same limits and
 * allowlists as an encode, so a copy refuses exactly the inputs an encode would refuse at probe.
 */
import { z } from 'zod';
import { cancelledError, type ErrorBody } from '../../schemas/errors.ts';
import type { MediaInfo } from '../../schemas/file.ts';
import { issuesFromZod } from '../../schemas/issues.ts';
import type { RunKind } from '../../schemas/processor.ts';
import type { Limits } from '../limits.ts';
import { probeFile } from '../probe/index.ts';

export type StandaloneKind = Extract<RunKind, 'probe' | 'copy'>;

/** @example isStandalone('copy'); // true — nothing is encoded */
export const isStandalone = (kind: RunKind): kind is StandaloneKind => kind === 'probe' || kind === 'copy';

/** Probe and copy take no options: there is nothing to choose, so anything sent is a mistake worth naming. */
const NoOptions = z.strictObject({});

/**
 * Refuses any option for a standalone kind, naming each one.
 *
 * @example
 * standaloneOptionsError('probe', { width: 640 });
 * // { kind: 'invalid_input', message: 'A probe task takes no options: Unknown field options.width; remove it or check its spelling' }
 */
export function standaloneOptionsError(kind: StandaloneKind, options: unknown): ErrorBody | null {
  const parsed = NoOptions.safeParse(options ?? {});
  if (parsed.success) return null;
  const messages = issuesFromZod(parsed.error, options, ['options']).map((issue) => issue.message);
  return { kind: 'invalid_input', message: `A ${kind} task takes no options: ${messages.join('; ')}` };
}

export type ProbeInputResult = { ok: true; info: MediaInfo } | { ok: false; error: ErrorBody };

/**
 * What a probe or copy run learns about a downloaded input: its MediaInfo, or why Kiln refuses it
 * (not media, over a limit, a refused format, an SVG with entities), as an encode's probe would.
 *
 * @example
 * const probed = await probeInput({ kind: 'probe', options: {}, inputPath: '/tmp/in.mp4', limits: DEFAULT_LIMITS });
 * if (probed.ok) console.log(probed.info.width, probed.info.codecs.video);
 */
export async function probeInput(req: {
  kind: StandaloneKind;
  options: unknown;
  inputPath: string;
  limits: Limits;
  signal?: AbortSignal;
}): Promise<ProbeInputResult> {
  const refused = standaloneOptionsError(req.kind, req.options);
  if (refused) return { ok: false, error: refused };
  if (req.signal?.aborted) return { ok: false, error: cancelledError() };
  const probe = await probeFile(req.inputPath, req.limits, req.signal);
  return probe.ok ? { ok: true, info: probe.info } : probe;
}
