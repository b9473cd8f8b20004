/**
 * Secrets a deployment may leave unset. `wrangler types` types only `[secrets].required`, so they
 * are declared here, optional, for both spellings of the Worker's environment.
 */
declare namespace Cloudflare {
  interface Env {
    /** The initial webhook secret of the tenant named by WEBHOOK_SECRET_TENANT (README "Deploy"). */
    WEBHOOK_SECRET?: string;
  }
}
interface Env {
  WEBHOOK_SECRET?: string;
}
