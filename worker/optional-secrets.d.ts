/**
 * Secrets a deployment may leave unset. `wrangler types` types only `[secrets].required`, so they
 * are declared here, optional, for both spellings of the Worker's environment.
 */
declare namespace Cloudflare {
  interface Env {
    /** Earlier CONNECTION_ENCRYPTION_KEY values, comma-separated, that still open connections they sealed (README "Deploy"). */
    CONNECTION_ENCRYPTION_KEYS_PREVIOUS?: string;
  }
}
interface Env {
  CONNECTION_ENCRYPTION_KEYS_PREVIOUS?: string;
}
