/**
 * `kiln recipe`: several outputs of any kinds from one input, described as a `POST /jobs/batch`
 * body (the same schema, so a recipe file works with curl, the CLI's remote mode and its local
 * mode alike). Locally the outputs come from one pass over the input; remotely it is one batch.
 */
import type { CliError } from '../schemas/errors.ts';
import { writesFolder } from '../schemas/formats.ts';
import { issuesFromZod } from '../schemas/issues.ts';
import { JobBatchCreate } from '../schemas/job.ts';
import type { JobKind } from '../schemas/options.ts';
import type { ParsedCli } from './args.ts';
import { readJson } from './json-argument.ts';
import { inFolder, inputName } from './paths.ts';

/** Where one output goes: its own path (or s3:// key), or a folder to name it in (`undefined`: the default place). */
export type RecipeTarget = { path: string } | { folder: string | undefined };

export interface Recipe {
  body: JobBatchCreate;
  targets: RecipeTarget[];
}

function invalid(message: string): { ok: false; error: CliError } {
  return { ok: false, error: { kind: 'invalid_input', message } };
}

/**
 * The recipe named by `kiln recipe <recipe>`, with `-i` as its input and the `-o` flags spread over
 * its outputs: one -o per output names each, a single -o is a folder, an s3:// `output` in the
 * recipe wins over both.
 *
 * @example
 * await readRecipe(parseCli(['recipe', 'seed.json', '-i', 'clip.mov', '-o', 'hd.mp4', '-o', 'thumb.webp', '-o', 'low.mp4']));
 */
export async function readRecipe(cli: ParsedCli): Promise<{ ok: true; recipe: Recipe } | { ok: false; error: CliError }> {
  const raw = cli.args[0];
  if (raw === undefined) return invalid('Missing the recipe: kiln recipe recipe.json -i <file>, or - (stdin), or \'{"outputs":[…]}\'');
  const read = await readJson(raw, 'the recipe');
  if (!read.ok) return read;
  const json = read.json;
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    return invalid('Expected the recipe to be a JSON object: {"outputs": [{"kind": …, "options": {…}}, …]} (a POST /jobs/batch body)');
  const withInput = cli.input === undefined ? json : { ...json, input: cli.input };
  if (!('input' in withInput)) return invalid('Missing -i <file or URL> (or "input" in the recipe)');
  const parsed = JobBatchCreate.safeParse(withInput);
  if (!parsed.success)
    return invalid(
      issuesFromZod(parsed.error, withInput)
        .map((issue) => issue.message)
        .join('; '),
    );
  const body = parsed.data;
  const count = body.outputs.length;
  if (cli.outputs.length > 1 && cli.outputs.length !== count)
    return invalid(`The recipe has ${count} outputs but ${cli.outputs.length} -o were given: give one -o per output, or one -o folder`);
  // A batch has at least two outputs, so as many -o as outputs is never the one -o of a folder.
  const perOutput = cli.outputs.length === count;
  const named = body.outputs.findIndex((o) => o.output !== undefined);
  if (perOutput && named >= 0)
    return invalid(`outputs[${named}].output already says where it goes: give one -o per output only when the recipe names none`);
  const targets = body.outputs.map((output, i): RecipeTarget => {
    if (output.output !== undefined) return { path: output.output };
    return perOutput ? { path: cli.outputs[i]! } : { folder: cli.output };
  });
  return { ok: true, recipe: { body, targets } };
}

/**
 * The name of the recipe's `index`-th output when no -o names it: `<input name>-<n>.<ext>` (a folder
 * for HLS), in `folder` (a local folder or an s3:// prefix) or here.
 *
 * @example
 * recipeOutputName('clip.mov', 1, 'image', '.webp', 'out'); // 'out/clip-2.webp'
 */
export function recipeOutputName(input: string, index: number, kind: JobKind, extension: string, folder: string | undefined): string {
  const file = `${inputName(input)}-${index + 1}${writesFolder(kind) ? '' : extension}`;
  return folder === undefined ? file : inFolder(folder, file);
}
