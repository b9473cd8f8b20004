import { OpenAPIHono } from '@hono/zod-openapi';
import { issuesFromZod } from '../../schemas/issues.ts';
import type { AuthVariables } from '../auth/index.ts';
import { ValidationError } from './errors.ts';

export type AppEnv = { Bindings: Env; Variables: AuthVariables };

/**
 * A router whose validation failures all take one shape: `400 {kind: "invalid_input", message,
 * issues[]}` with one issue per field (docs/api.md#errors).
 */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        const prefix = result.target === 'json' ? [] : [result.target];
        throw new ValidationError(issuesFromZod(result.error, (result as { data?: unknown }).data, prefix));
      }
    },
  });
}
