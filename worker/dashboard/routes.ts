import { Hono } from 'hono';
import type { AppEnv } from '../http/app.ts';

/**
 * The dashboard (`/`) and the API reference (`/docs`): files built from dashboard/ into the
 * Worker's static assets (wrangler.toml `[assets]`). The Worker runs first for every request so
 * the API answers exactly as before; only these paths are handed to the assets, each with a CSP.
 */
export const dashboardRoutes = new Hono<AppEnv>();

/** Hashed file names change with their content, so a browser may keep them for good. */
const HASHED_ASSET_MAX_AGE_S = 365 * 24 * 3600;

/** The origin of a configured URL, or nothing when it is unset or not a URL (config errors are reported elsewhere). */
function originOf(url: string | undefined): string[] {
  return url && URL.canParse(url) ? [new URL(url).origin] : [];
}

/**
 * Scripts and styles only from this origin (no inline script); the browser may talk to this
 * origin and to the storage the presigned uploads go to, and show media from here or the public
 * files domain. `/docs` alone allows inline styles, which Swagger UI writes.
 */
export function contentSecurityPolicy(env: Pick<Env, 'R2_S3_ENDPOINT' | 'PUBLIC_FILES_BASE_URL'>, opts: { inlineStyles: boolean }): string {
  const media = ["'self'", 'blob:', ...originOf(env.PUBLIC_FILES_BASE_URL)].join(' ');
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${opts.inlineStyles ? " 'unsafe-inline'" : ''}`,
    `img-src ${media} data:`,
    `media-src ${media}`,
    `connect-src ${["'self'", ...originOf(env.R2_S3_ENDPOINT)].join(' ')}`,
    // hls.js feeds media through a worker built from a blob: URL.
    "worker-src 'self' blob:",
    "font-src 'self'",
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The paths handed to the assets: pages for a person, none of them an API operation. */
export const DASHBOARD_PATHS = ['/', '/index.html', '/docs', '/docs/*', '/assets/*', '/favicon.svg'];

for (const path of DASHBOARD_PATHS) {
  dashboardRoutes.on(['GET', 'HEAD'], path, async (c) => {
    const asset = await c.env.ASSETS.fetch(c.req.raw);
    const res = new Response(asset.body, asset);
    const url = new URL(c.req.url);
    res.headers.set('Content-Security-Policy', contentSecurityPolicy(c.env, { inlineStyles: url.pathname.startsWith('/docs') }));
    res.headers.set('X-Content-Type-Options', 'nosniff');
    res.headers.set('Referrer-Policy', 'no-referrer');
    if (asset.ok && url.pathname.startsWith('/assets/'))
      res.headers.set('Cache-Control', `public, max-age=${HASHED_ASSET_MAX_AGE_S}, immutable`);
    return res;
  });
}
