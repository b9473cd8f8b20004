import { useEffect, useState } from 'preact/hooks';
import { apiKey, saveApiKey } from './api.ts';
import { JobView } from './views/job.tsx';
import { JobsView } from './views/jobs.tsx';
import { SignIn } from './views/sign-in.tsx';
import { UploadView } from './views/upload.tsx';
import { WebhooksView } from './views/webhooks.tsx';

/** The screen the location hash names: hash routes need no server fallback for deep links. */
function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash.replace(/^#/, '') || '/';
}

export function App() {
  const [signedIn, setSignedIn] = useState(apiKey() !== null);
  const route = useRoute();
  if (!signedIn) return <SignIn onSignedIn={() => setSignedIn(true)} />;
  const jobId = /^\/jobs\/([\w-]+)$/.exec(route)?.[1];
  const nav = [
    { href: '#/', label: 'Jobs', current: route === '/' || jobId !== undefined },
    { href: '#/upload', label: 'Upload', current: route === '/upload' },
    { href: '#/webhooks', label: 'Webhooks', current: route === '/webhooks' },
  ];
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/">
          Kiln
        </a>
        <nav aria-label="Main">
          {nav.map((item) => (
            <a key={item.href} href={item.href} aria-current={item.current ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
          <a href="/docs/">API reference</a>
        </nav>
        <button
          type="button"
          class="quiet"
          onClick={() => {
            saveApiKey(null);
            setSignedIn(false);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main">
        {jobId ? (
          <JobView key={jobId} id={jobId} />
        ) : route === '/upload' ? (
          <UploadView />
        ) : route === '/webhooks' ? (
          <WebhooksView />
        ) : (
          <JobsView />
        )}
      </main>
    </>
  );
}
