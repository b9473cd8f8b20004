/**
 * The API reference at /docs: Swagger UI (copied into the assets, and its tags added, at build
 * time by vite.config.ts) rendering the Worker's own /openapi.json. Here rather than inline,
 * because the CSP allows no inline script.
 */
export {};

declare global {
  interface Window {
    SwaggerUIBundle: (options: { url: string; dom_id: string; deepLinking: boolean; tryItOutEnabled: boolean }) => unknown;
  }
}

window.SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: false });
