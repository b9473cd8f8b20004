import { useEffect, useState } from 'preact/hooks';
import type { WebhookSecret } from '../../schemas/webhook.ts';
import { ApiError, api } from '../api.ts';
import { CopyButton } from './parts.tsx';

/** How a receiver checks a Kiln webhook, with the off-the-shelf `standardwebhooks` package. */
export function verifySnippet(secret: string): string {
  return `import { Webhook } from 'standardwebhooks';

const wh = new Webhook(process.env.KILN_WEBHOOK_SECRET); // ${secret.slice(0, 10)}…
// In your handler, with the raw body (not re-serialised JSON):
const job = wh.verify(rawBody, {
  'webhook-id': req.headers['webhook-id'],
  'webhook-timestamp': req.headers['webhook-timestamp'],
  'webhook-signature': req.headers['webhook-signature'],
}); // throws when the signature or the timestamp is wrong`;
}

/** The tenant's signing secret, a copy button and how to verify; each job's deliveries are on its page. */
export function WebhooksView() {
  const [secret, setSecret] = useState<WebhookSecret | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [shown, setShown] = useState(false);
  useEffect(() => {
    api<WebhookSecret>('/webhooks/secret')
      .then(({ body }) => setSecret(body))
      .catch((err) => setError(err instanceof ApiError ? `${err.kind}: ${err.message}` : String(err)));
  }, []);
  return (
    <section aria-labelledby="webhooks-title">
      <h1 id="webhooks-title">Webhooks</h1>
      <p>
        Kiln POSTs the finished job to its <code>webhook_url</code>, signed per Standard Webhooks with your secret. Each job's page lists
        its delivery attempts and can send it again.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {secret && (
        <>
          <h2>Signing secret</h2>
          <p class="secret">
            <code class="mono wrap">{shown ? secret.secret : `${secret.secret.slice(0, 10)}${'•'.repeat(20)}`}</code>
            <button type="button" class="quiet" onClick={() => setShown(!shown)} aria-pressed={shown}>
              {shown ? 'Hide' : 'Show'}
            </button>
            <CopyButton text={secret.secret} label="Copy secret" />
          </p>
          {secret.previous_expires_at && (
            <p>The previous secret also signs until {new Date(secret.previous_expires_at).toLocaleString()}.</p>
          )}
          <h2>Verify a webhook (Node)</h2>
          <pre class="code">{verifySnippet(secret.secret)}</pre>
          <CopyButton text={verifySnippet(secret.secret)} label="Copy snippet" />
        </>
      )}
    </section>
  );
}
