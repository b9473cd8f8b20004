import { describe, expect, it } from 'vitest';
import { QUERY_WARNINGS_MAX } from '../../../worker/constants.ts';
import { api, createJob } from '../helpers.ts';

type ErrorAnswer = { kind: string; message: string; issues: { path: string; message: string }[] };

const warningFor = (name: string) => `299 kiln "Ignored unknown query parameter ${name}"`;

describe('unknown query parameters on list routes', () => {
  it('ignores page=1 and limit from an Ittybit SDK call (tasks.list({page, limit}) style) with a Warning', async () => {
    const res = await api('/jobs?page=1&limit=20');
    expect(res.status).toBe(200);
    expect(res.headers.get('Warning')).toBe(warningFor('page'));
    expect(res.headers.get('Limit')).toBe('20');
  });

  it('names each ignored parameter in its own warning-value, once however often it repeats', async () => {
    const res = await api('/jobs?colour=red&page=1&colour=blue&kind=video');
    expect(res.status).toBe(200);
    expect(res.headers.get('Warning')).toBe([warningFor('colour'), warningFor('page')].join(', '));
  });

  it('escapes names a quoted-string cannot carry, and counts the ones past the limit', async () => {
    const odd = await api(`/jobs?${encodeURIComponent('say "hi"\\\n')}=1&${encodeURIComponent('café')}=2`);
    expect(odd.status).toBe(200);
    expect(odd.headers.get('Warning')).toBe([warningFor('say \\"hi\\"\\\\%0A'), warningFor('caf%C3%A9')].join(', '));
    const many = Array.from({ length: QUERY_WARNINGS_MAX + 3 }, (_, i) => `p${i}=1`).join('&');
    const res = await api(`/jobs?${many}`);
    expect(res.status).toBe(200);
    const warnings = res.headers.get('Warning')!.split(', ');
    expect(warnings).toHaveLength(QUERY_WARNINGS_MAX + 1);
    expect(warnings.at(-1)).toBe('299 kiln "Ignored 3 more unknown query parameters"');
  });

  it('names a long parameter cut inside an emoji without failing (a lone surrogate cannot be percent-encoded)', async () => {
    const res = await api(`/jobs?${'a'.repeat(63)}%F0%9F%98%80x=1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('Warning')).toBe(`299 kiln "Ignored unknown query parameter ${'a'.repeat(63)}%F0%9F%98%80..."`);
  });

  it('refuses page other than 1, which cursors cannot honour, and says to use after', async () => {
    const res = await api('/jobs?page=2&limit=20');
    expect(res.status).toBe(400);
    expect((await res.json<ErrorAnswer>()).issues).toEqual([
      {
        path: 'query.page',
        message:
          'Expected no page, or page=1, but received "2": this list pages by cursor; follow its Link header, or pass the last id you received as after',
      },
    ]);
  });

  it('still refuses a known parameter with a bad value, and a malformed metadata filter', async () => {
    const limit = await api('/jobs?page=1&limit=0');
    expect(limit.status).toBe(400);
    expect((await limit.json<ErrorAnswer>()).issues.map((i) => i.path)).toEqual(['query.limit']);
    const filter = await api('/jobs?metadata[user id]=x');
    expect(filter.status).toBe(400);
    expect((await filter.json<ErrorAnswer>()).issues).toEqual([
      {
        path: 'query.metadata[user id]',
        message:
          'Expected metadata[key] with a metadata key (1–32 letters, digits, underscores, hyphens or dots) for query.metadata[user id]',
      },
    ]);
  });

  it('applies to GET /connections, and to a job’s events and deliveries, which return every item at once', async () => {
    const job = await createJob();
    for (const path of ['/connections', `/jobs/${job.id}/events`, `/jobs/${job.id}/deliveries`]) {
      const ok = await api(`${path}?page=1`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('Warning')).toBe(warningFor('page'));
      const conflict = await api(`${path}?page=2`);
      expect(conflict.status).toBe(400);
      expect((await conflict.json<ErrorAnswer>()).issues).toEqual([
        { path: 'query.page', message: 'Expected no page, or page=1, but received "2": this list returns every item at once; drop page' },
      ]);
    }
  });

  it('adds no Warning when every parameter is known', async () => {
    const res = await api('/jobs?limit=5&order=asc&metadata[user_id]=u1');
    expect(res.status).toBe(200);
    expect(res.headers.get('Warning')).toBeNull();
  });
});
