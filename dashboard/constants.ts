/** The dashboard's timings, each with the reason for its value. */

/**
 * First wait between two polls of the jobs list or a job while something is running: progress
 * callbacks arrive about once a second, so 1.5 s shows movement without hammering the API.
 */
export const POLL_MIN_MS = 1_500;
/**
 * Longest wait between polls: when nothing changed for a while (a long encode, or an idle list),
 * the wait doubles up to this, so an open tab costs a request every 30 s at most.
 */
export const POLL_MAX_MS = 30_000;
/** How long "Copied" stays next to a copy button. */
export const COPIED_NOTICE_MS = 2_000;
/** Jobs per page of the list: one screen on a laptop. */
export const JOBS_PAGE_SIZE = 20;
