/**
 * Every timeout, retry bound and interval the Worker uses, with its unit and its reason.
 * The processor's own limits live in container/limits.ts.
 */

/**
 * The processor reports at least every 5 s (container/run/reporter.ts); 12 missed beats, allowing
 * for a cold container start, means the run is lost. `HEARTBEAT_TIMEOUT_S` overrides it (the
 * fault tests use a few seconds so a killed processor is noticed quickly).
 */
export const HEARTBEAT_TIMEOUT_MS = 60_000;

/** Runs started per job before it fails with `timeout`: one crash is bad luck, three is the input or the processor. */
export const MAX_RUN_ATTEMPTS = 3;

/** A job queued this long without a claim gets its message re-sent, in case a send was lost. */
export const QUEUE_STALL_MS = 10 * 60_000;

/** A job stored but not indexed or queued (a transient platform error) is retried this soon by its alarm. */
export const CREATE_RETRY_MS = 5_000;

/**
 * Runs a job may have given back (a processor stopping mid-run: a container stopped or redeployed,
 * Ctrl-C in development) before it fails: each is queued again at once, so a processor stopped
 * during every run (a crash loop) would otherwise requeue the job for ever.
 */
export const MAX_RUNS_GIVEN_BACK = 10;

/**
 * A job whose run was given back is queued at once; if no run has claimed it this soon, its
 * alarm sends the message again. Local queues (`wrangler dev`) forget their messages when they
 * stop, which is what happens right after Ctrl-C gives a run back; production queues keep them,
 * and a second message for the same generation starts nothing twice.
 */
export const GIVEN_BACK_RESEND_MS = 5_000;

/**
 * Longest wait between retries of a tenant-index write that failed. Until one lands, GET /jobs
 * lists the job with an old status, so retries never stop; they back off (the wait roughly
 * doubles with the time since the job last changed) so a tenant object that is down for long is
 * not hit by every one of its jobs every 5 s.
 */
export const INDEX_RETRY_MAX_MS = 10 * 60_000;

/**
 * An idle container (no active run) stops after this; the next job cold-starts one in seconds.
 * Runs report outward, so a long encode gets no inbound requests: ProcessorContainer asks the
 * processor before stopping instead of trusting this timer. `CONTAINER_SLEEP_AFTER` overrides it.
 */
export const CONTAINER_SLEEP_AFTER = '10m';

/** Shortest CONTAINER_SLEEP_AFTER: below it the idle check would poll a busy processor without pause. */
export const MIN_CONTAINER_SLEEP_AFTER_S = 10;

/** Waiting for a container's /health when deciding whether it may sleep. */
export const CONTAINER_HEALTH_TIMEOUT_MS = 5_000;
/** Idle checks in a row without an answer before a container is stopped anyway (a processor busy encoding can be slow to answer once; a hung one never answers). */
export const CONTAINER_UNANSWERED_CHECKS = 2;

/**
 * Dispatches that found no processor at all (a container that failed to start, a self-hosted
 * processor that is down) before the job fails with the last error: with the busy backoff this is
 * about 2.5 minutes, long enough for a restart and short enough that a broken image is reported
 * while someone is still watching.
 */
export const MAX_UNREACHABLE_DISPATCHES = 6;

/**
 * Offering one task to container instances in turn stops after this, well inside the heartbeat
 * timeout that starts at the claim; a stopped instance without capacity takes about 8 s to say so.
 */
export const DISPATCH_SCAN_BUDGET_MS = 20_000;

/** Waiting for the processor to accept a task (it answers 202 at once; a cold container needs longer). */
export const DISPATCH_TIMEOUT_MS = 30_000;

/**
 * How long a job just created waits for siblings on the same input before it is dispatched, so an
 * upload's outputs sent one request after another (a script's HD, thumbnail and preview) share one
 * download and one decode. The "a few hundred ms" at most; image jobs never wait (start.ts).
 */
export const COALESCE_WINDOW_MS = 150;

/** First delay before re-offering a task to a busy processor; doubles per delivery up to the cap. */
export const BUSY_RETRY_BASE_S = 5;
/** Cap on that delay: with wrangler.toml's max_retries = 10 this waits about 40 minutes in all. */
export const BUSY_RETRY_MAX_S = 600;

/** Lifetime of a direct-upload URL from POST /uploads. */
export const UPLOAD_URL_TTL_S = 60 * 60;
/** Largest body PUT /files/{id} accepts; bigger files go through POST /uploads (no Worker body limit). */
export const DIRECT_PUT_MAX_BYTES = 100 * 1024 * 1024;

/** Idempotency keys are remembered this long (docs/api.md#post-jobs). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60_000;

/** Per-attempt webhook timeout (docs/api.md#webhooks). */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** First retry comes within 10 s of a failed attempt (issue #4); later ones back off exponentially. */
export const WEBHOOK_FIRST_RETRY_MS = 5_000;
/** Longest gap between two webhook attempts. */
export const WEBHOOK_MAX_BACKOFF_MS = 2 * 60 * 60_000;
/** Keep retrying for a little over the promised 24 h, then give up and record it. */
export const WEBHOOK_RETRY_WINDOW_MS = 25 * 60 * 60_000;
/** A receiver's Retry-After is honoured up to this long. */
export const WEBHOOK_MAX_RETRY_AFTER_MS = 6 * 60 * 60_000;
/**
 * After a rotation the previous webhook secret keeps signing (next to the new one) this long: as
 * long as the retry window, so every retry of an event first sent before the rotation still
 * carries a signature made with the secret its receiver had then.
 */
export const WEBHOOK_SECRET_OVERLAP_MS = WEBHOOK_RETRY_WINDOW_MS;

/**
 * Per-tenant request rates (docs/behaviour.md#limits-per-tenant): a token bucket per tenant in its
 * TenantObject, refilled at this many per minute and holding at most as many, so a tenant that was
 * idle may send a minute's worth at once. `RATE_LIMIT_JOBS_PER_MINUTE` counts POST /jobs and
 * POST /tasks; `RATE_LIMIT_UPLOADS_PER_MINUTE` counts POST /uploads and PUT /files/{id}. 600 is
 * ten a second, well above what the end-to-end and chaos runs submit.
 */
export const RATE_LIMIT_JOBS_PER_MINUTE = 600;
export const RATE_LIMIT_UPLOADS_PER_MINUTE = 600;

/**
 * Runs of one tenant in progress at once (`TENANT_MAX_CONCURRENT_JOBS`); the rest stay queued, so
 * one tenant's backlog cannot take every processor slot. 20 is more than one processor instance
 * holds (KILN_CONCURRENCY + KILN_BACKLOG = 18), so a lone tenant still fills one.
 */
export const TENANT_MAX_CONCURRENT_JOBS = 20;

/**
 * A run slot is asked about again (does its job still have a run?) once it is this old, and only
 * when the tenant is at its limit: a slot whose release was lost frees itself this long after it
 * was taken or last confirmed, or once its run is found lost by the watchdog.
 */
export const RUN_SLOT_RECHECK_MS = 60_000;

/**
 * A job waiting for one of its tenant's run slots looks again after this delay, doubling per wait
 * up to the cap. Waiting is not a failure: each wait is a fresh queue message, so it never uses
 * the queue's retries (max_retries) or the job's run attempts.
 */
export const SLOT_WAIT_BASE_S = 2;
export const SLOT_WAIT_MAX_S = 60;

/**
 * How late a waiting job's next message may be before the job sends another itself (the message
 * that waited is stale by then, so nothing else would carry it until QUEUE_STALL_MS). A queue under
 * load delivers delayed messages seconds late; a margin this wide keeps such lateness from doubling
 * a backlog's messages, while a message that was really lost costs about a minute.
 */
export const SLOT_WAIT_RESEND_GRACE_MS = 60_000;

/**
 * Largest JSON body the API reads (POST /jobs, /tasks, /uploads, /connections…), counted while it
 * streams in, before any parsing. The largest valid job (32 metadata values of 2,048 characters
 * and three 4,096-character URLs, every character written as a `\u` escape) is about 470 KiB.
 */
export const API_BODY_MAX_BYTES = 512 * 1024;
/**
 * Largest body a processor callback may send, read only after its token checks out. The largest
 * valid one names MAX_OUTPUT_FILES files of 200 characters: about 3.9 MiB.
 */
export const CALLBACK_BODY_MAX_BYTES = 4 * 1024 * 1024;

/**
 * Unknown query parameters on a list route each get a `Warning` header, up to this many; the rest
 * are counted in one more. Old SDKs send one or two (`page`), so ten names every real case while
 * a URL stuffed with parameters cannot make the response headers outgrow the request.
 */
export const QUERY_WARNINGS_MAX = 10;
