import type { z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import { NAME_MAX_CHARS } from '../../schemas/job.ts';
import { QUERY_WARNINGS_MAX } from '../constants.ts';
import type { AppEnv } from './app.ts';
import { invalidField } from './errors.ts';

/** How a list route pages: by `after`/`before` cursors, or not at all (it returns every item at once). */
export type ListPaging = 'cursor' | 'none';

export interface UnknownQueryOptions {
  /** The route's query schema; its keys are the parameters it knows. */
  schema?: z.ZodObject;
  /** Families of parameters the handler reads itself, e.g. `/^metadata\[/` for `metadata[key]=value`. */
  families?: readonly RegExp[];
  paging: ListPaging;
}

/**
 * A parameter name as an RFC 7230 quoted-string's content: quotes and backslashes escaped, and
 * anything outside printable ASCII percent-encoded (a header cannot carry it, and the name is
 * only there for a person to read).
 */
function quotable(name: string): string {
  // Cut by code points: a cut through a surrogate pair leaves a lone half that encodeURIComponent throws on.
  const points = Array.from(name.toWellFormed());
  const short = points.length > NAME_MAX_CHARS ? `${points.slice(0, NAME_MAX_CHARS).join('')}...` : points.join('');
  return short.replace(/[^\x20-\x7e]|["\\]/gu, (ch) => (ch === '"' || ch === '\\' ? `\\${ch}` : encodeURIComponent(ch)));
}

/** One RFC 7234 §5.5 warning-value: code 299 (miscellaneous persistent warning), agent `kiln`. */
function warning(text: string): string {
  return `299 kiln "${text}"`;
}

/**
 * Route middleware for list routes: a query parameter the route does not know is ignored, and
 * named in a `Warning: 299 kiln "Ignored unknown query parameter page"` response header, one per
 * parameter, so clients built for other APIs (Ittybit's SDKs send `page`) keep working. Only a
 * parameter that cannot be honoured is refused: `page` other than 1, since Kiln's lists page by
 * cursor or not at all. Known parameters are still validated by the route's schema.
 *
 * @example createRoute({ method: 'get', path: '/jobs', middleware: [ignoreUnknownQueryParams({ schema: ListJobsQuery, paging: 'cursor' })], … })
 */
export function ignoreUnknownQueryParams({ schema, families = [], paging }: UnknownQueryOptions) {
  const known = new Set(schema ? Object.keys(schema.shape) : []);
  return createMiddleware<AppEnv>(async function ignoreUnknownQuery(c, next) {
    const params = new URL(c.req.url).searchParams;
    const unknown = [...new Set(params.keys())].filter((name) => !known.has(name) && !families.some((f) => f.test(name)));
    for (const value of unknown.includes('page') ? params.getAll('page') : []) {
      if (value === '1') continue;
      throw invalidField(
        'query.page',
        paging === 'cursor'
          ? `Expected no page, or page=1, but received ${JSON.stringify(value.slice(0, NAME_MAX_CHARS))}: this list pages by cursor; follow its Link header, or pass the last id you received as after`
          : `Expected no page, or page=1, but received ${JSON.stringify(value.slice(0, NAME_MAX_CHARS))}: this list returns every item at once; drop page`,
      );
    }
    for (const name of unknown.slice(0, QUERY_WARNINGS_MAX)) {
      c.header('Warning', warning(`Ignored unknown query parameter ${quotable(name)}`), { append: true });
    }
    const more = unknown.length - QUERY_WARNINGS_MAX;
    if (more > 0) c.header('Warning', warning(`Ignored ${more} more unknown query parameters`), { append: true });
    await next();
  });
}
