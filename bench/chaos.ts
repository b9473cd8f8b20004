/**
 * Chaos run (issue #10): mixed jobs through the local stack (the Worker in wrangler's runtime, a
 * real processor process) while the processor is SIGKILLed at random and restarted, and every
 * job's webhook goes to a receiver that flaps (answers 500, drops connections, is down). Then it
 * checks that no job was lost or left open, that each ended with the status its input calls for,
 * and that each webhook arrived once, signed.
 *
 *   node bench/chaos.ts [--jobs 300] [--rate 0.5] [--backlog 2] [--seed 10] [--deadline-min 25]
 *
 * Exits 1 when any check fails. Per-job records and every processor's log: bench/.work/chaos/.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs, promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import type { ErrorKind } from '../schemas/errors.ts';
import { isTerminal, type Job, type JobEvent } from '../schemas/job.ts';
import type { JobKind } from '../schemas/options.ts';
import type { Delivery } from '../schemas/webhook.ts';
import { startReceiver } from '../test/e2e/support/receiver.ts';
import { startStack } from '../test/e2e/support/stack.ts';
import { devVars } from '../test/support/dev-vars.ts';
import { MEDIA_DIR } from '../test/support/media.ts';
import { MAX_RUN_ATTEMPTS } from '../worker/constants.ts';
import { fmt } from './stats.ts';

const run = promisify(execFile);
const WORK = resolve(import.meta.dirname, '.work', 'chaos');
const { values } = parseArgs({
  options: {
    jobs: { type: 'string', default: '300' },
    rate: { type: 'string', default: '0.5' },
    backlog: { type: 'string', default: '2' },
    seed: { type: 'string', default: '10' },
    'deadline-min': { type: 'string', default: '25' },
  },
});
const JOBS = Number(values.jobs);
/** Submissions per second: a steady stream keeps runs in flight for the whole run, so kills land on work. */
const RATE = Number(values.rate);
/**
 * Runs the processor accepts beyond its running ones. A kill loses every run it holds, each of
 * them one of the job's MAX_RUN_ATTEMPTS, so the default 16 turns every kill on a slow machine
 * into up to 18 lost attempts; 2 leaves the waiting jobs in the queue, where a kill cannot reach them.
 */
const BACKLOG = values.backlog;
const DEADLINE_MS = Number(values['deadline-min']) * 60_000;
/** A killed processor is noticed after 3 missed beats (it beats every 5 s), not the production minute. */
const HEARTBEAT_TIMEOUT_S = 15;
const KILL_EVERY_S = { min: 5, max: 20 };
const RECEIVER_UP_S = { min: 10, max: 30 };
const RECEIVER_FLAP_S = { min: 3, max: 10 };
/** Webhook retries back off (5 s, 10 s, 20 s, … with jitter); after the flapping ends, this covers six of them. */
const WEBHOOK_SETTLE_MS = 6 * 60_000;
const POLL_MS = 3_000;
const POLL_CLIENTS = 8;

/** mulberry32: a seeded PRNG, so a run's job mix, cancels, kills and flaps can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = prng(Number(values.seed));
const between = (r: { min: number; max: number }) => r.min + random() * (r.max - r.min);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => console.error(`[chaos ${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

// ---- inputs: tiny, so each job is short and the CPU others share is spared -----------------------

const MEDIA = {
  clip: 'chaos-clip.mp4', // 1 s 320x180 h264 + aac
  silent: 'chaos-silent.mp4', // 1 s 320x180 h264, no audio
  photo: 'chaos-photo.png', // 320x240
  tone: 'chaos-tone.wav', // 1 s mono
  text: 'chaos-text.mp4', // plain text named .mp4
};
await mkdir(WORK, { recursive: true });
await mkdir(MEDIA_DIR, { recursive: true });
const lavfi = (src: string) => ['-f', 'lavfi', '-i', src];
const generate: Record<string, string[]> = {
  // biome-ignore format: ffmpeg arguments read as flag/value pairs
  [MEDIA.clip]: [...lavfi('testsrc2=size=320x180:rate=15'), ...lavfi('sine=frequency=440'), '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac'],
  [MEDIA.silent]: [...lavfi('testsrc2=size=320x180:rate=15'), '-t', '1', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
  [MEDIA.photo]: [...lavfi('testsrc2=size=320x240'), '-frames:v', '1'],
  [MEDIA.tone]: [...lavfi('sine=frequency=440'), '-t', '1', '-ac', '1'],
};
for (const [name, args] of Object.entries(generate)) {
  const path = join(MEDIA_DIR, name);
  if (!existsSync(path)) await run('ffmpeg', ['-v', 'error', '-y', ...args, path]);
}
if (!existsSync(join(MEDIA_DIR, MEDIA.text))) await writeFile(join(MEDIA_DIR, MEDIA.text), 'not a video, just words\n'.repeat(200));

// ---- the job mix -----------------------------------------------------------------------------------

type Expectation = { status: 'succeeded' } | { status: 'failed'; kind: ErrorKind };
interface Spec {
  n: number;
  label: string;
  kind: JobKind;
  input: string;
  options: Record<string, unknown>;
  expect: Expectation;
  /** Cancel this long after the job was created. */
  cancelAfterMs?: number;
}

const GOOD_KINDS: Record<string, Omit<Spec, 'n'>> = {
  video: {
    label: 'video',
    kind: 'video',
    input: MEDIA.clip,
    options: { width: 160, quality: 'very_low' },
    expect: { status: 'succeeded' },
  },
  image: { label: 'image', kind: 'image', input: MEDIA.photo, options: { width: 64, format: 'webp' }, expect: { status: 'succeeded' } },
  audio: { label: 'audio', kind: 'audio', input: MEDIA.tone, options: { format: 'mp3' }, expect: { status: 'succeeded' } },
  animation: {
    label: 'animation',
    kind: 'animation',
    input: MEDIA.clip,
    options: { end: 1, width: 96, fps: 5 },
    expect: { status: 'succeeded' },
  },
  adaptive_video: {
    label: 'adaptive_video',
    kind: 'adaptive_video',
    input: MEDIA.clip,
    options: { quality: 'very_low' },
    expect: { status: 'succeeded' },
  },
};
/** Every kind, weighted to the cheap ones (images run in-process; each ffmpeg start costs seconds on a busy machine). */
const GOOD = (['image', 'video', 'audio', 'image', 'animation', 'image', 'audio', 'adaptive_video', 'video'] as const).map(
  (k) => GOOD_KINDS[k]!,
);
/** Accepted at submit (the request is valid) and failing at run, each with its own kind. */
const BAD: Omit<Spec, 'n'>[] = [
  { label: 'bad: not media', kind: 'video', input: MEDIA.text, options: {}, expect: { status: 'failed', kind: 'input_not_media' } },
  {
    label: 'bad: start past end',
    kind: 'video',
    input: MEDIA.clip,
    options: { start: 30 },
    expect: { status: 'failed', kind: 'invalid_input' },
  },
  { label: 'bad: no audio', kind: 'audio', input: MEDIA.silent, options: {}, expect: { status: 'failed', kind: 'no_audio_stream' } },
  {
    label: 'bad: input 404',
    kind: 'image',
    input: 'chaos-missing.png',
    options: {},
    expect: { status: 'failed', kind: 'input_unreachable' },
  },
];
const BAD_SHARE = 0.08;
const CANCEL_SHARE = 0.06;
/** Cancels land from right after the submit (queued) to when a short job may already be done. */
const CANCEL_WITHIN_MS = 4_000;

function plan(count: number): Spec[] {
  const bad = Math.round(count * BAD_SHARE);
  const cancels = Math.round(count * CANCEL_SHARE);
  const specs: Omit<Spec, 'n'>[] = [];
  for (let i = 0; i < bad; i++) specs.push(BAD[i % BAD.length]!);
  for (let i = 0; specs.length < count; i++) {
    const good = GOOD[i % GOOD.length]!;
    specs.push(i < cancels ? { ...good, label: `${good.label} (cancel)`, cancelAfterMs: 0 } : good);
  }
  for (let i = specs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [specs[i], specs[j]] = [specs[j]!, specs[i]!];
  }
  return specs.map((s, n) => (s.cancelAfterMs === undefined ? { ...s, n } : { ...s, n, cancelAfterMs: random() * CANCEL_WITHIN_MS }));
}

// ---- the stack, the receiver and the chaos ---------------------------------------------------------

const t0 = performance.now();
const runId = `chaos_${Date.now().toString(36)}`;
const stack = await startStack({
  vars: { HEARTBEAT_TIMEOUT_S: String(HEARTBEAT_TIMEOUT_S) },
  processorEnv: { KILN_BACKLOG: BACKLOG },
  shared: true,
});
const receiver = await startReceiver();
const secret = devVars().WEBHOOK_SECRET ?? '';
log(`stack at ${stack.base}, processor at ${stack.processor.url}, receiver at ${receiver.url('')}; run ${runId}`);

interface Record_ {
  spec: Spec;
  id?: string;
  submitError?: string;
  cancelAnswer?: Job['status'];
  final?: Job;
  events?: JobEvent[];
  deliveries?: Delivery[];
  listed?: boolean;
}
const records: Record_[] = plan(JOBS).map((spec) => ({ spec }));
const byId = new Map<string, Record_>();
let submitting = true;
let settled = false;

/** Kills the processor every 5–20 s (SIGKILL: a crash, no goodbye) and starts a fresh one on its port. */
const kills: { at: number; upAt: number; inFlight: number }[] = [];
const processorLogs: string[] = [];
let restartFailures = 0;
async function killer() {
  while (!settled) {
    await sleep(between(KILL_EVERY_S) * 1000);
    if (settled) break;
    processorLogs.push(stack.processor.output());
    const inFlight = records.filter((r) => r.id && !(r.final && isTerminal(r.final.status))).length;
    const at = Date.now();
    for (let tries = 1; ; tries++) {
      try {
        await stack.restartProcessor();
        break;
      } catch (err) {
        log(`restart ${tries} of the processor failed, trying again: ${String(err).slice(0, 300)}`);
        restartFailures++;
      }
    }
    kills.push({ at, upAt: Date.now(), inFlight });
    log(`killed the processor (#${kills.length}, ${inFlight} jobs open) and restarted it`);
  }
}

/** Receiver healthy for 10–30 s, then 3–10 s of one fault: HTTP 500, dropped connections, or down. */
type Flap = '500' | 'drop' | 'down';
const flaps: Record<Flap, { count: number; seconds: number }> = {
  '500': { count: 0, seconds: 0 },
  drop: { count: 0, seconds: 0 },
  down: { count: 0, seconds: 0 },
};
async function flapper() {
  while (!settled) {
    await sleep(between(RECEIVER_UP_S) * 1000);
    if (settled) break;
    const mode = (['500', 'drop', 'down'] as const)[Math.floor(random() * 3)]!;
    const seconds = between(RECEIVER_FLAP_S);
    if (mode === '500') receiver.setStatus(500);
    if (mode === 'drop') receiver.dropConnections(true);
    if (mode === 'down') await receiver.down();
    await sleep(seconds * 1000);
    receiver.setStatus(200);
    receiver.dropConnections(false);
    if (mode === 'down') await receiver.up();
    flaps[mode].count++;
    flaps[mode].seconds += seconds;
  }
}

/**
 * Every request the receiver saw. The signature is recomputed from the request's own id and
 * timestamp, so the check does not depend on when it runs; the timestamp is checked apart, against
 * the time of arrival, with Standard Webhooks' 5-minute tolerance.
 */
interface Seen {
  webhookIds: Set<string>;
  requests: number;
  accepted: Map<string, number>;
  statuses: Set<string>;
}
const seen = new Map<string, Seen>();
let badSignatures = 0;
let staleTimestamps = 0;
const TIMESTAMP_TOLERANCE_S = 5 * 60;
let unknownJobs = 0;
let checked = 0;
const verifier = new Webhook(secret);
function checkReceived() {
  for (; checked < receiver.received.length; checked++) {
    const hit = receiver.received[checked]!;
    const timestamp = Number(hit.headers['webhook-timestamp']);
    const expected = verifier.sign(hit.headers['webhook-id'] ?? '', new Date(timestamp * 1000), hit.body);
    if (!(hit.headers['webhook-signature'] ?? '').split(' ').includes(expected)) badSignatures++;
    if (!(Math.abs(hit.at / 1000 - timestamp) <= TIMESTAMP_TOLERANCE_S)) staleTimestamps++;
    const payload = JSON.parse(hit.body) as Job;
    if (!byId.has(payload.id)) unknownJobs++;
    const s = seen.get(payload.id) ?? { webhookIds: new Set(), requests: 0, accepted: new Map(), statuses: new Set() };
    const webhookId = hit.headers['webhook-id'] ?? '';
    s.webhookIds.add(webhookId);
    s.requests++;
    s.statuses.add(payload.status);
    if (hit.status !== null && hit.status >= 200 && hit.status < 300) s.accepted.set(webhookId, (s.accepted.get(webhookId) ?? 0) + 1);
    seen.set(payload.id, s);
  }
}

async function submitAll() {
  const started = performance.now();
  await Promise.all(
    records.map(async (r) => {
      await sleep(Math.max(0, (r.spec.n / RATE) * 1000 - (performance.now() - started)));
      const res = await stack.api<Job & { message?: string }>('/jobs', {
        method: 'POST',
        json: {
          input: stack.mediaUrl(r.spec.input),
          kind: r.spec.kind,
          options: r.spec.options,
          metadata: { chaos_run: runId, n: String(r.spec.n) },
          webhook_url: receiver.url(`/hooks/${r.spec.n}`),
        },
      });
      if (res.status !== 201) {
        r.submitError = `HTTP ${res.status}: ${JSON.stringify(res.body)}`;
        return;
      }
      r.id = res.body.id;
      byId.set(r.id, r);
      if (r.spec.cancelAfterMs !== undefined) {
        await sleep(r.spec.cancelAfterMs);
        const cancel = await stack.api<Job>(`/jobs/${r.id}/cancel`, { method: 'POST' });
        if (cancel.status === 200) r.cancelAnswer = cancel.body.status;
        else r.submitError = `cancel answered HTTP ${cancel.status}: ${JSON.stringify(cancel.body)}`;
      }
    }),
  );
  submitting = false;
  log(`submitted ${byId.size} of ${records.length} jobs`);
}

async function inBatches<T>(items: T[], fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: POLL_CLIENTS }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Polls the open jobs until all are terminal or the deadline passes; true when all are. */
async function waitForTerminal(deadline: number): Promise<boolean> {
  let lastReport = 0;
  for (;;) {
    checkReceived();
    const open = records.filter((r) => r.id && (r.final === undefined || !isTerminal(r.final.status)));
    await inBatches(open, async (r) => {
      const res = await stack.api<Job>(`/jobs/${r.id}`);
      if (res.status === 200) r.final = res.body;
    });
    const stillOpen = records.filter((r) => r.id && (r.final === undefined || !isTerminal(r.final.status))).length;
    if (performance.now() - lastReport > 30_000) {
      lastReport = performance.now();
      log(`${stillOpen} jobs open, ${kills.length} kills, ${receiver.received.length} webhook requests`);
    }
    if (!submitting && stillOpen === 0) return true;
    if (performance.now() > deadline) return false;
    await sleep(POLL_MS);
  }
}

const chaos = Promise.all([killer(), flapper()]);
const checking = setInterval(checkReceived, 1_000);
const [, allTerminal] = await Promise.all([submitAll(), waitForTerminal(t0 + DEADLINE_MS)]);
const jobsDoneS = (performance.now() - t0) / 1000;
settled = true;
await chaos;
log(allTerminal ? 'every job is terminal; the receiver stays up now' : 'deadline passed with jobs still open');

/** A job's webhook is settled when the Worker recorded a 2xx for it (or there is nothing left to try). */
async function waitForWebhooks(deadline: number): Promise<void> {
  for (;;) {
    const pending = records.filter((r) => r.id && r.final && isTerminal(r.final.status));
    await inBatches(pending, async (r) => {
      const res = await stack.api<Delivery[]>(`/jobs/${r.id}/deliveries`);
      if (res.status === 200) r.deliveries = res.body;
    });
    checkReceived();
    const undelivered = pending.filter((r) => !r.deliveries?.some((d) => d.status !== null && d.status >= 200 && d.status < 300));
    if (undelivered.length === 0 || performance.now() > deadline) return;
    log(`${undelivered.length} webhooks not yet delivered`);
    await sleep(10_000);
  }
}
await waitForWebhooks(performance.now() + WEBHOOK_SETTLE_MS);
await sleep(2_000);
clearInterval(checking);
checkReceived();

await inBatches(
  records.filter((r) => r.id),
  async (r) => {
    const job = await stack.api<Job>(`/jobs/${r.id}`);
    if (job.status === 200) r.final = job.body;
    else r.final = undefined;
    const events = await stack.api<JobEvent[]>(`/jobs/${r.id}/events`);
    if (events.status === 200) r.events = events.body;
  },
);
for (let after: string | undefined; ; ) {
  const page = await stack.api<Job[]>(`/jobs?metadata[chaos_run]=${runId}&limit=100${after ? `&after=${after}` : ''}`);
  for (const job of page.body) {
    const r = byId.get(job.id);
    if (r) r.listed = true;
  }
  if (page.headers.get('has-more') !== 'true' || page.body.length === 0) break;
  after = page.body.at(-1)!.id;
}
const wallS = (performance.now() - t0) / 1000;

// ---- verdicts ------------------------------------------------------------------------------------

/** The watchdog's verdicts on a job: each `run_lost`, and the `failed` that the last lost run turns into. */
function losses(r: Record_): JobEvent[] {
  return (r.events ?? []).filter(
    (e) => e.type === 'run_lost' || (e.type === 'failed' && (e.detail as { reason?: string } | null)?.reason === 'watchdog'),
  );
}
/** Workerd's clock moves at I/O boundaries, so an event's time can trail the kill it follows by a little. */
const CLOCK_SLACK_MS = 1_000;
/** A lost run that no kill explains: a kill must fall between the run's start (claim) and its loss. */
function unexplainedLosses(r: Record_): JobEvent[] {
  const events = r.events ?? [];
  return losses(r).filter((loss) => {
    const started = events.filter((e) => e.type === 'run_started' && e.at <= loss.at).at(-1);
    return !kills.some((k) => k.at >= (started?.at ?? 0) - CLOCK_SLACK_MS && k.at <= loss.at + CLOCK_SLACK_MS);
  });
}
const runsLost = (r: Record_) => losses(r).length;
/** A dispatch that found no processor while none was up: between a kill and the restarted processor's first /health. */
function unexplainedUnreachable(r: Record_): JobEvent[] {
  return (r.events ?? []).filter(
    (e) =>
      e.type === 'run_deferred' &&
      String((e.detail as { reason?: string } | null)?.reason).startsWith('unreachable') &&
      !kills.some((k) => e.at >= k.at - CLOCK_SLACK_MS && e.at <= k.upAt + CLOCK_SLACK_MS),
  );
}
const deferrals = (reason: string) =>
  records.reduce(
    (sum, r) =>
      sum +
      (r.events ?? []).filter(
        (e) => e.type === 'run_deferred' && String((e.detail as { reason?: string } | null)?.reason).startsWith(reason),
      ).length,
    0,
  );
const runsStarted = (r: Record_) => r.events?.filter((e) => e.type === 'run_started').length ?? 0;

type Verdict = 'ok' | 'timeout after 3 kills' | 'unavailable during restarts' | 'lost' | 'stuck' | 'wrong status' | 'not submitted';
function verdict(r: Record_): { verdict: Verdict; why?: string } {
  if (!r.id) return { verdict: 'not submitted', why: r.submitError };
  if (!r.final) return { verdict: 'lost', why: 'GET /jobs/{id} no longer finds it' };
  if (!r.listed) return { verdict: 'lost', why: 'missing from GET /jobs' };
  if (!isTerminal(r.final.status)) {
    const last = r.events?.at(-1);
    const idle = last
      ? `${fmt((Date.now() - last.at) / 1000, 0)} s after its last event, ${last.type} ${JSON.stringify(last.detail).slice(0, 120)}`
      : '';
    return { verdict: 'stuck', why: `still ${r.final.status} ${idle}` };
  }
  const got = r.final.status === 'failed' ? `failed/${r.final.error?.kind}` : r.final.status;
  let want: string;
  if (r.cancelAnswer === 'cancelled') want = 'cancelled';
  else if (r.cancelAnswer && isTerminal(r.cancelAnswer)) want = r.cancelAnswer === 'failed' ? got : r.cancelAnswer;
  else want = r.spec.expect.status === 'failed' ? `failed/${r.spec.expect.kind}` : 'succeeded';
  if (got === want) return { verdict: 'ok' };
  if (got === 'failed/timeout' && runsLost(r) >= MAX_RUN_ATTEMPTS && unexplainedLosses(r).length === 0) {
    return { verdict: 'timeout after 3 kills' };
  }
  if (got === 'failed/processor_unavailable' && unexplainedUnreachable(r).length === 0) return { verdict: 'unavailable during restarts' };
  return { verdict: 'wrong status', why: `expected ${want}, got ${got}: ${r.final.error?.message ?? ''}` };
}

interface WebhookCheck {
  delivered: boolean;
  duplicates: number;
  extraEvents: number;
  workerAttempts: number;
  statusMismatch: boolean;
}
function webhookCheck(r: Record_): WebhookCheck {
  const s = r.id ? seen.get(r.id) : undefined;
  const accepted = [...(s?.accepted.values() ?? [])];
  return {
    delivered: accepted.length > 0,
    duplicates: accepted.reduce((sum, n) => sum + Math.max(0, n - 1), 0),
    extraEvents: Math.max(0, (s?.webhookIds.size ?? 0) - 1),
    workerAttempts: r.deliveries?.length ?? 0,
    statusMismatch: !!s && !!r.final && (s.statuses.size !== 1 || !s.statuses.has(r.final.status)),
  };
}

const rows = records.map((r) => ({ r, v: verdict(r), w: webhookCheck(r) }));
const count = (pred: (x: (typeof rows)[number]) => boolean) => rows.filter(pred).length;
const EXPLAINED: Verdict[] = ['ok', 'timeout after 3 kills', 'unavailable during restarts'];
const problems = rows.filter((x) => !EXPLAINED.includes(x.v.verdict));
const webhookProblems = rows.filter(
  (x) => x.r.id && x.r.final && isTerminal(x.r.final.status) && (!x.w.delivered || x.w.duplicates || x.w.extraEvents || x.w.statusMismatch),
);

await writeFile(
  join(WORK, 'report.json'),
  JSON.stringify(
    {
      runId,
      kills,
      flaps,
      jobs: rows.map(({ r, v, w }) => ({
        n: r.spec.n,
        label: r.spec.label,
        id: r.id,
        verdict: v,
        unexplainedLosses: unexplainedLosses(r),
        webhook: w,
        cancelAnswer: r.cancelAnswer,
        status: r.final?.status,
        error: r.final?.error,
        events: r.events,
        deliveries: r.deliveries,
      })),
    },
    null,
    2,
  ),
);
await writeFile(join(WORK, 'received.json'), JSON.stringify(receiver.received, null, 2));
await Promise.all(processorLogs.concat(stack.processor.output()).map((text, i) => writeFile(join(WORK, `processor-${i}.log`), text)));

// ---- the tables (stdout, markdown; bench/run.ts collects them) -------------------------------------

const labels = [...new Set(records.map((r) => r.spec.label))].sort();
const statuses = ['succeeded', 'failed', 'cancelled', 'open'] as const;
const statusOf = (r: Record_) => (r.final && isTerminal(r.final.status) ? r.final.status : 'open');
let out = `## Chaos run — ${JOBS} jobs, ${new Date().toISOString().slice(0, 10)}\n\n`;
out += `| job | submitted | ${statuses.join(' | ')} | failure kinds | right status |\n|---|---:|${statuses.map(() => '---:').join('|')}|---|---:|\n`;
for (const label of labels) {
  const mine = rows.filter((x) => x.r.spec.label === label);
  const kinds = [...new Set(mine.filter((x) => statusOf(x.r) === 'failed').map((x) => x.r.final?.error?.kind))].join(', ');
  out += `| ${label} | ${mine.filter((x) => x.r.id).length} | ${statuses.map((s) => mine.filter((x) => statusOf(x.r) === s).length).join(' | ')} | ${kinds || '—'} | ${mine.filter((x) => x.v.verdict === 'ok').length} |\n`;
}
const webhookRequests = receiver.received.length;
const workerAttempts = rows.reduce((sum, x) => sum + x.w.workerAttempts, 0);
const lostRunsTotal = rows.reduce((sum, x) => sum + runsLost(x.r), 0);
const restartedJobs = count((x) => runsStarted(x.r) > 1);
const figures: [string, string][] = [
  ['jobs submitted / planned', `${byId.size} / ${JOBS}`],
  ['lost (not found, or missing from GET /jobs)', String(count((x) => x.v.verdict === 'lost'))],
  ['stuck (queued or processing at the end)', String(count((x) => x.v.verdict === 'stuck'))],
  ['wrong status', String(count((x) => x.v.verdict === 'wrong status'))],
  [`good jobs failed with \`timeout\` (killed ${MAX_RUN_ATTEMPTS} times)`, String(count((x) => x.v.verdict === 'timeout after 3 kills'))],
  [
    `good jobs failed with \`processor_unavailable\` (every dispatch during a restart)`,
    String(count((x) => x.v.verdict === 'unavailable during restarts')),
  ],
  ['processor kills (SIGKILL + restart)', String(kills.length)],
  ['restarts that never became healthy (retried)', String(restartFailures)],
  ['processor down (kill → restarted processor healthy), in all', `${fmt(kills.reduce((sum, k) => sum + k.upAt - k.at, 0) / 1000, 0)} s`],
  ['dispatches deferred: busy / unreachable', `${deferrals('busy')} / ${deferrals('unreachable')}`],
  ['runs lost (watchdog)', String(lostRunsTotal)],
  ['… of which no kill explains', String(rows.reduce((sum, x) => sum + unexplainedLosses(x.r).length, 0))],
  ['jobs that needed more than one run', String(restartedJobs)],
  [
    'receiver flaps (500 / dropped / down)',
    `${flaps['500'].count} / ${flaps.drop.count} / ${flaps.down.count} (${fmt(flaps['500'].seconds + flaps.drop.seconds + flaps.down.seconds, 0)} s in all)`,
  ],
  ['webhook attempts recorded by the Worker', String(workerAttempts)],
  ['webhook requests that reached the receiver', String(webhookRequests)],
  [
    'jobs whose webhook was delivered (2xx)',
    `${count((x) => x.w.delivered)} / ${count((x) => !!x.r.final && isTerminal(x.r.final.status))}`,
  ],
  ['duplicate deliveries after a 2xx', String(rows.reduce((sum, x) => sum + x.w.duplicates, 0))],
  ['jobs with more than one webhook event', String(count((x) => x.w.extraEvents > 0))],
  ['webhook status ≠ job status', String(count((x) => x.w.statusMismatch))],
  ['invalid signatures', String(badSignatures)],
  ['timestamps more than 5 min from arrival', String(staleTimestamps)],
  ['webhooks for unknown jobs', String(unknownJobs)],
  ['all jobs terminal after', `${fmt(jobsDoneS, 0)} s`],
  ['wall time', `${fmt(wallS, 0)} s`],
  ['processor', `concurrency 2, backlog ${BACKLOG}; watchdog ${HEARTBEAT_TIMEOUT_S} s`],
  ['machine', `${cpus().length} vCPU, ${Math.round(totalmem() / 2 ** 30)} GiB, shared`],
];
out += `\n| check | value |\n|---|---:|\n${figures.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`;
console.log(out);

for (const { r, v } of problems.slice(0, 20)) log(`PROBLEM job ${r.id ?? `#${r.spec.n}`} (${r.spec.label}): ${v.verdict} — ${v.why ?? ''}`);
for (const { r, w } of webhookProblems.slice(0, 20)) log(`WEBHOOK job ${r.id} (${r.spec.label}): ${JSON.stringify(w)}`);
log(`per-job records: ${join(WORK, 'report.json')}`);

await stack.close();
await receiver.close();
const failed = problems.length > 0 || webhookProblems.length > 0 || badSignatures > 0 || staleTimestamps > 0 || unknownJobs > 0;
process.exit(failed ? 1 : 0);
