import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import preact from '@preact/preset-vite';
import { defineConfig, type Plugin } from 'vite';

/** Where the Worker's static assets come from (wrangler.toml `[assets] directory`); gitignored. */
export const DASHBOARD_OUT_DIR = resolve(import.meta.dirname, 'dist');

/**
 * Swagger UI's standalone bundle and stylesheet, copied from node_modules into `/docs/` at build
 * time: the API reference is served from Kiln's own assets, never from a CDN.
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
    rollupOptions: { input: { main: resolve(import.meta.dirname, 'index.html'), docs: resolve(import.meta.dirname, 'docs/index.html') } },
  },
});
