import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

/** Where the Worker's static assets come from (wrangler.toml `[assets] directory`); gitignored. */
export const DASHBOARD_OUT_DIR = resolve(import.meta.dirname, 'dist');

/**
 * Swagger UI's standalone bundle and stylesheet, copied from node_modules into `/docs/` at build
 * time: the API reference is served from Kiln's own assets, never from a CDN. Their tags are added
 * to docs/index.html after Vite has processed it: the 1.7 MB bundle is a classic script, already
 * minified, that Vite would otherwise warn it cannot bundle (and minify again if it could).
 */
function swaggerUiAssets(): Plugin {
  const root = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  return {
    name: 'kiln-swagger-ui-assets',
    generateBundle() {
      for (const name of ['swagger-ui-bundle.js', 'swagger-ui.css']) {
        this.emitFile({ type: 'asset', fileName: `docs/${name}`, source: readFileSync(join(root, name)) });
      }
    },
    transformIndexHtml: {
      order: 'post',
      handler(_html, ctx) {
        if (!ctx.path.endsWith('/docs/index.html')) return;
        return [
          { tag: 'link', attrs: { rel: 'stylesheet', href: '/docs/swagger-ui.css' }, injectTo: 'head' },
          // Before docs/init.ts, a module script, which runs only once the page is parsed.
          { tag: 'script', attrs: { src: '/docs/swagger-ui-bundle.js' }, injectTo: 'body-prepend' },
        ];
      },
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  plugins: [preact(), swaggerUiAssets()],
  build: {
    outDir: DASHBOARD_OUT_DIR,
    emptyOutDir: true,
    // Hashed names under /assets/ are cached for a year by the Worker; index.html never is.
    assetsDir: 'assets',
    // hls.js (about 580 kB) is a chunk of its own, loaded only to preview an HLS output in a
    // browser without native HLS; the dashboard's own code is far below this.
    chunkSizeWarningLimit: 600,
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), docs: resolve(import.meta.dirname, 'docs/index.html') } },
  },
});
