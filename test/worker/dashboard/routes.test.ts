import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy } from '../../../worker/dashboard/routes.ts';
import { api } from '../helpers.ts';

describe('the dashboard and the API reference beside the API', () => {
  it('serves the dashboard at / with a CSP that allows no inline script and talks only to this origin', async () => {
    const res = await api('/', { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toContain('<div id="app"></div>');
    expect(html).toMatch(/<script type="module" crossorigin src="\/assets\/main-[\w-]+\.js"><\/script>/);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self';");
    expect(csp).toContain("style-src 'self';");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it("serves the bundle the page names, from the Worker's own assets, cached for good", async () => {
    const html = await (await api('/', { key: null })).text();
    const script = /src="(\/assets\/main-[\w-]+\.js)"/.exec(html)![1]!;
    const res = await api(script, { key: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/javascript/);
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await res.text()).length).toBeGreaterThan(1000);
  });

  it('renders /openapi.json for a person at /docs/ with Swagger UI served from the same origin', async () => {
    const res = await api('/docs/', { key: null });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<script src="/docs/swagger-ui-bundle.js"></script>');
    expect(html).not.toMatch(/https?:\/\//);
    expect((await api('/docs/swagger-ui-bundle.js', { key: null })).status).toBe(200);
    expect((await api('/docs/swagger-ui.css', { key: null })).status).toBe(200);
    const redirect = await api('/docs', { key: null, redirect: 'manual' });
    expect([200, 307, 308]).toContain(redirect.status);
  });

  it('leaves the API as it was: /openapi.json, /health, auth and JSON 404s for unknown paths', async () => {
    expect((await api('/openapi.json', { key: null })).headers.get('content-type')).toMatch(/^application\/json/);
    expect((await api('/health', { key: null })).status).toBe(200);
    expect((await api('/jobs', { key: null })).status).toBe(401);
    for (const [method, path] of [
      ['GET', '/no-such-page'],
      ['POST', '/'],
      ['GET', '/assets/../jobs'],
    ] as const) {
      const res = await api(path, { method, key: null });
      if (res.status === 404) expect(await res.json()).toMatchObject({ kind: 'not_found' });
      else expect(res.status).not.toBe(200);
    }
  });

  it('lets the page reach the storage presigned uploads go to and show media from the public files domain, nothing else', () => {
    const csp = contentSecurityPolicy(
      { R2_S3_ENDPOINT: 'https://acct.r2.cloudflarestorage.com', PUBLIC_FILES_BASE_URL: 'https://media.example.com/files' },
      { inlineStyles: false },
    );
    expect(csp).toContain("connect-src 'self' https://acct.r2.cloudflarestorage.com;");
    expect(csp).toContain("media-src 'self' blob: https://media.example.com;");
    expect(csp).not.toContain('unsafe-inline');
    expect(contentSecurityPolicy({ R2_S3_ENDPOINT: '', PUBLIC_FILES_BASE_URL: 'not a url' }, { inlineStyles: true })).toContain(
      "connect-src 'self';",
    );
  });
});
