import { KilnError } from '../../schemas/errors.ts';
import { apiKeyAuth } from '../auth/index.ts';
import { callbackRoutes } from '../callbacks/routes.ts';
import { connectionRoutes } from '../connections/routes.ts';
import { API_BODY_MAX_BYTES } from '../constants.ts';
import { dashboardRoutes } from '../dashboard/routes.ts';
import { fileRoutes } from '../files/routes.ts';
import { healthRoutes } from '../health/routes.ts';
import { jobsRoutes } from '../jobs/routes.ts';
import { rateLimit } from '../limits/index.ts';
import { taskRoutes } from '../tasks/routes.ts';
import { uploadRoutes } from '../uploads/routes.ts';
import { deliveryRoutes, webhookSecretRoutes } from '../webhooks/routes.ts';
import { createRouter } from './app.ts';
import { jsonBodyLimit } from './body-limit.ts';
import { errorResponse } from './errors.ts';

/** The whole HTTP surface: public routes first, then everything behind an API key. */
export function createApp() {
  const app = createRouter();
  app.onError(errorResponse);
  app.notFound(() => {
    throw new KilnError('not_found', 'No such route; see /openapi.json for the API.');
  });
  app.route('/', healthRoutes);
  app.route('/', dashboardRoutes);
  app.route('/', fileRoutes);
  app.route('/', callbackRoutes);
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'Kiln', version: '1', description: 'Turns user uploads into web-ready media.' },
    security: [{ bearer: [] }],
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  for (const path of ['/jobs', '/jobs/*', '/tasks', '/tasks/*', '/uploads', '/connections', '/connections/*', '/webhooks/*']) {
    app.use(path, apiKeyAuth());
  }
  app.on('PUT', '/files/:id{file_[^/]+}', apiKeyAuth());
  // Only what creates work or stores bytes is rate limited; reads are cheap DO lookups that
  // clients poll, and a limit there would only break status polling during a burst.
  app.on('POST', ['/jobs', '/jobs/batch', '/tasks'], rateLimit('jobs'));
  app.on('POST', '/uploads', rateLimit('uploads'));
  app.on('PUT', '/files/:id{file_[^/]+}', rateLimit('uploads'));
  // After the callbacks, which read up to CALLBACK_BODY_MAX_BYTES once their token checks out.
  app.on(['POST', 'PATCH'], '*', jsonBodyLimit(API_BODY_MAX_BYTES));
  app.route('/', jobsRoutes);
  app.route('/', taskRoutes);
  app.route('/', deliveryRoutes);
  app.route('/', webhookSecretRoutes);
  app.route('/', uploadRoutes);
  app.route('/', connectionRoutes);
  return app;
}
