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

const API_DESCRIPTION =
  'Turns user uploads into web-ready media: upload a file (or name a URL), create jobs that transcode video, ' +
  'resize images or extract audio, then poll the job or receive a signed webhook when it finishes. ' +
  'Errors are JSON `{kind, message}`; `kind` is stable, `message` says what to change.';

/** The groups of the API reference, in the order a newcomer meets them. */
const API_TAGS = [
  { name: 'Files', description: 'Uploading inputs (presigned or through the API) and downloading outputs.' },
  { name: 'Jobs', description: 'A job turns one input into one output; poll it or wait for its webhook.' },
  { name: 'Tasks', description: 'Standalone tasks: one step (probe, transcode, export…) as its own resource.' },
  { name: 'Webhooks', description: 'The signing secret of your webhooks and the delivery log of each job.' },
  { name: 'Connections', description: 'Your own S3-compatible storage, for s3:// inputs and outputs.' },
  { name: 'Service', description: 'Health of the Worker and the processor, and this document.' },
];

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
  app.doc31('/openapi.json', (c) => ({
    openapi: '3.1.0',
    info: { title: 'Kiln', version: '1', description: API_DESCRIPTION, license: { name: 'MIT', identifier: 'MIT' } },
    // The deployment that served the document: a client generated from it calls the same Kiln.
    servers: [{ url: new URL(c.req.url).origin, description: 'The Kiln this document was fetched from.' }],
    tags: API_TAGS,
    security: [{ bearer: [] }],
  }));
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description: 'An API key from API_KEYS, sent as `Authorization: Bearer <key>`; each key is its own tenant.',
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tags: ['Service'],
    summary: 'This document, with its server set to the origin it was fetched from',
    security: [],
    responses: { 200: { description: 'The OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } } },
  });
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
