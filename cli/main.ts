/**
 * `kiln` command-line entry point (docs/api.md#cli). Local mode runs the processor's engine in this
 * process; remote mode (KILN_API_URL or --api_url set, no --local) talks to a Kiln deployment.
 * Failures print `kind: message` and exit non-zero; never a stack trace.
 */

import { InvalidLimitError } from '../container/limits.ts';
import type { ErrorBody } from '../schemas/errors.ts';
import { type ParsedCli, parseCli, USAGE, UsageError } from './args.ts';
import { runLocalConnections } from './connections-store.ts';
import { type CliOutcome, runLocal } from './local.ts';
import { runRemote } from './remote.ts';

/** Exit codes: 0 done, 1 the job failed, 2 the command line was wrong, 130 interrupted (128 + SIGINT). */
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function fail(error: ErrorBody, json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error })}\n`);
  else process.stderr.write(`${error.kind}: ${error.message}\n`);
  if (error.kind === 'cancelled') return EXIT_INTERRUPTED;
  return error.kind === 'invalid_input' ? EXIT_USAGE : EXIT_FAILED;
}

async function dispatch(cli: ParsedCli, signal: AbortSignal): Promise<CliOutcome> {
  const apiUrl = cli.apiUrl ?? process.env.KILN_API_URL;
  const apiKey = cli.apiKey ?? process.env.KILN_API_KEY;
  // Probing needs no service: it always runs here. `kiln connections` follows the mode: the API's
  // connections remotely (cli/remote.ts), this machine's store locally (cli/connections-store.ts).
  if (apiUrl && !cli.local && cli.command !== 'probe') {
    if (!apiKey)
      return { ok: false, error: { kind: 'unauthorized', message: `Set KILN_API_KEY (or --api_key) to use the API at ${apiUrl}` } };
    return runRemote(cli, apiUrl, apiKey, signal);
  }
  if (cli.command === 'connections') return runLocalConnections(cli, process.env);
  return runLocal(cli, signal);
}

export async function main(argv: string[]): Promise<number> {
  let cli: ParsedCli;
  try {
    cli = parseCli(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`invalid_input: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  if (cli.help || cli.command === null) {
    (cli.help ? process.stdout : process.stderr).write(USAGE);
    return cli.help ? 0 : EXIT_USAGE;
  }
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  process.once('SIGTERM', onSigint);
  try {
    const outcome = await dispatch(cli, controller.signal);
    if (!outcome.ok) return fail(outcome.error, cli.json);
    if (cli.json) process.stdout.write(`${JSON.stringify(outcome.json)}\n`);
    else {
      for (const line of outcome.lines) process.stdout.write(`${line}\n`);
      for (const note of outcome.notes) process.stderr.write(`note: ${note}\n`);
    }
    return 0;
  } catch (err) {
    // A throw is a bug or a broken environment (e.g. a malformed KILN_MAX_* variable): no stack trace.
    if (process.env.KILN_DEBUG) console.error(err);
    const message = err instanceof Error ? err.message : String(err);
    const kind = err instanceof InvalidLimitError ? err.kind : 'internal_error';
    return fail({ kind, message }, cli.json);
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

process.exitCode = await main(process.argv.slice(2));
