import { WEBHOOK_SECRET_OVERLAP_MS } from '../constants.ts';
import { base64 } from '../utils/crypto.ts';

/** Random bytes in a new secret: the size of the HMAC-SHA256 key it signs with. */
const SECRET_BYTES = 32;

/** A tenant's webhook signing secrets at one moment. */
export interface WebhookSecrets {
  current: string;
  /** The secret before the last rotation while it still signs (until `retires_at`), else null. */
  previous: { secret: string; retires_at: number } | null;
}

/** A new `whsec_` secret: 32 random bytes, base64, as Standard Webhooks spells it. */
export function newWebhookSecret(): string {
  return `whsec_${base64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;
}

/**
 * A tenant's webhook signing secrets in its Durable Object's SQLite: the current one (no
 * `retires_at`) and, for WEBHOOK_SECRET_OVERLAP_MS after a rotation, the previous one. A tenant
 * gets a random secret on first use, unless configuration pins its initial secret (`pinned`,
 * README "Deploy"): that one is never stored, so it follows the configuration until the tenant's
 * first rotation. Each method runs without awaiting, so it is atomic in the single-threaded object.
 */
export class WebhookSecretStore {
  private readonly sql: SqlStorage;

  constructor(sql: SqlStorage) {
    this.sql = sql;
    sql.exec(
      'CREATE TABLE IF NOT EXISTS webhook_secrets (seq INTEGER PRIMARY KEY AUTOINCREMENT, secret TEXT NOT NULL, retires_at INTEGER)',
    );
  }

  /** The secrets that sign at `now`; creates the first one if the tenant has none and none is pinned. */
  secrets(pinned: string | null, now: number): WebhookSecrets {
    this.sql.exec('DELETE FROM webhook_secrets WHERE retires_at < ?', now);
    const rows = this.sql
      .exec<{ secret: string; retires_at: number | null }>('SELECT secret, retires_at FROM webhook_secrets ORDER BY seq DESC')
      .toArray();
    const current = rows.find((r) => r.retires_at === null)?.secret;
    const previous = rows.find((r): r is { secret: string; retires_at: number } => r.retires_at !== null) ?? null;
    if (current) return { current, previous };
    if (pinned) return { current: pinned, previous: null };
    const created = newWebhookSecret();
    this.sql.exec('INSERT INTO webhook_secrets (secret, retires_at) VALUES (?, NULL)', created);
    return { current: created, previous: null };
  }

  /**
   * Makes a new current secret; the one it replaces keeps signing for WEBHOOK_SECRET_OVERLAP_MS.
   * A rotation during an overlap ends the older previous secret at once, so at most two secrets
   * sign at any time (and rotating twice retires a leaked secret immediately).
   */
  rotate(pinned: string | null, now: number): WebhookSecrets {
    const { current } = this.secrets(pinned, now);
    const next = newWebhookSecret();
    const retiresAt = now + WEBHOOK_SECRET_OVERLAP_MS;
    this.sql.exec('DELETE FROM webhook_secrets');
    this.sql.exec('INSERT INTO webhook_secrets (secret, retires_at) VALUES (?, ?)', current, retiresAt);
    this.sql.exec('INSERT INTO webhook_secrets (secret, retires_at) VALUES (?, NULL)', next);
    return { current: next, previous: { secret: current, retires_at: retiresAt } };
  }
}
