/**
 * `kiln` command-line entry point (docs/api.md#cli). Local mode runs the processor's engine in this
 * process; remote mode (an API URL set, no --local) talks to a Kiln deployment. Output is JSON
 * Lines when stdout is not a terminal (or with --json), text otherwise (or with --tty).
 * Failures print `kind: message` and exit non-zero; never a stack trace.
 *
 * Only the argument parser is imported up front: each mode is imported when it runs, so `--help`
 * and remote commands start without loading zod, sharp, fluent-ffmpeg or the engine
 * (scripts/build-cli.js splits the bundle at these imports).
 */

import type { CliError } from '../schemas/errors.ts';
import { type ParsedCli, parseCli, UnknownOptionError, USAGE, UsageError } from './args.ts';
import type { CliOutcome } from './outcome.ts';

/** Exit codes: 0 done, 1 the job failed, 2 the command line was wrong, 130 interrupted (128 + SIGINT). */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

/**
 * How to look up the job or task a failure happened to (it failed, or waiting for it did), unless
 * the message already names it.
 */
function lookUp(failed: { object: 'job' | 'task'; id: string }): string {
  return failed.object === 'job' ? `see the job with: kiln jobs ${failed.id}` : `the task is ${failed.id} (GET /tasks/${failed.id})`;
}

function fail(error: CliError, json: boolean, failed?: { object: 'job' | 'task'; id: string }): number {
  // A script piping stdout to jq gets the error as a line; whoever runs the script still sees why.
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, ...(failed ? { id: failed.id } : {}), error })}\n`);
  process.stderr.write(`${error.kind}: ${error.message}\n`);
  if (failed && !error.message.includes(failed.id)) process.stderr.write(`${lookUp(failed)}\n`);
  if (error.kind === 'cancelled') return EXIT_INTERRUPTED;
  return error.kind === 'invalid_input' ? EXIT_USAGE : EXIT_FAILED;
}

const LOGIN_MESSAGE =
  'Kiln has no browser login: it is self-hosted. Set KILN_API_URL to your deployment (e.g. https://kiln.example.com) and KILN_API_KEY to a key it issued; ITTYBIT_API_URL and ITTYBIT_API_KEY are read when those are absent.';

async function dispatch(cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  if (cli.command === 'login') return { ok: false, error: { kind: 'invalid_input', message: LOGIN_MESSAGE } };
  const { apiFromEnv } = await import('./api.ts');
  const api = apiFromEnv(cli, process.env);
  const remote = api.url !== undefined && !cli.local;
  if (cli.command === 'health') return (await import('./health.ts')).runHealth(remote ? api : {}, signal);
  // Probing needs no service: it always runs here. `kiln connections` follows the mode: the API's
  // connections remotely (cli/remote.ts), this machine's store locally (cli/connections-store.ts).
  if (remote && api.url && cli.command !== 'probe') {
    if (cli.command !== 'recipe' && (cli.batch || cli.outputs.length > 1)) {
      const message = 'Several inputs or outputs run on this machine only: add --local, or submit one job per output';
      return { ok: false, error: { kind: 'invalid_input', message } };
    }
    if (!api.key)
      return { ok: false, error: { kind: 'unauthorized', message: `Set KILN_API_KEY (or --api-key) to use the API at ${api.url}` } };
    return (await import('./remote.ts')).runRemote(cli, api.url, api.key, signal);
  }
  if (cli.command === 'connections') return (await import('./connections-store.ts')).runLocalConnections(cli, process.env);
  return (await import('./local.ts')).runLocal(cli, signal);
}

export async function main(argv: string[]): Promise<number> {
  let cli: ParsedCli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    if (err instanceof UnknownOptionError) {
      process.stderr.write(`invalid_input: ${(await import('./help.ts')).unknownOptionMessage(err)}\n`);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`invalid_input: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (cli.help && cli.command) {
    process.stdout.write((await import('./help.ts')).commandHelp(cli.command, cli.args[0]));
    return 0;
  }
  if (cli.help || cli.command === null) {
    (cli.help ? process.stdout : process.stderr).write(USAGE);
    return cli.help ? 0 : EXIT_USAGE;
  }
  cli.json = cli.mode ? cli.mode === 'json' : !process.stdout.isTTY;
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    const outcome = await dispatch(cli, controller.signal);
    if (!outcome.ok) return fail(outcome.error, cli.json, outcome.failed);
    if (cli.json) {
      const objects = Array.isArray(outcome.json) ? outcome.json : [outcome.json];
      for (const object of objects) process.stdout.write(`${JSON.stringify(object)}\n`);
    } else {
      for (const line of outcome.lines) process.stdout.write(`${line}\n`);
    }
    // Notes go to stderr in either mode: a piped run still hears them, and stdout stays one JSON object per line.
    for (const note of outcome.notes) process.stderr.write(`note: ${note}\n`);
    return outcome.exitCode ?? 0;
  } catch (err) {
    // A throw is a bug or a broken environment (e.g. a malformed KILN_MAX_* variable): no stack trace.
    if (cli.debug || process.env.KILN_DEBUG) console.error(err);
    const message = err instanceof Error ? err.message : String(err);
    const { InvalidLimitError } = await import('../container/limits.ts');
    const kind = err instanceof InvalidLimitError ? err.kind : 'internal_error';
    return fail({ kind, message }, cli.json);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

process.exitCode = await main(process.argv.slice(2));
