import { useState } from 'preact/hooks';
import { ApiError, api, saveApiKey } from '../api.ts';

/** The front door: what Kiln is, a link to the API reference, and sign-in with an API key. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/jobs?limit=1', { key: key.trim() });
      saveApiKey(key.trim());
      onSignedIn();
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, 'internal_error', String(err));
      setError(
        e.status === 401
          ? `Kiln refused this key (${e.kind}): ${e.message} Check for a typo or ask for a new key.`
          : `${e.kind}: ${e.message}`,
      );
    } finally {
      setBusy(false);
    }
  }
  return (
    <main id="main" class="sign-in">
      <h1>Kiln</h1>
      <p class="lead">
        Kiln turns user uploads into web-ready media: upload a file, ask for an MP4, a thumbnail or a WebP, and get a signed webhook when it
        is ready. This dashboard shows your jobs live, previews their outputs and replays their webhooks.
      </p>
      <p>
        Integrating? Read the <a href="/docs/">API reference</a> (or fetch <a href="/openapi.json">/openapi.json</a>).
      </p>
      <form onSubmit={submit} class="card">
        <label for="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autocomplete="off"
          required
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          aria-describedby={error ? 'sign-in-error' : 'api-key-help'}
          aria-invalid={error ? true : undefined}
        />
        <p id="api-key-help" class="hint">
          Kept in this tab only (session storage) and sent as the bearer token.
        </p>
        {error && (
          <p id="sign-in-error" class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
