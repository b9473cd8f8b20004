import { useState } from 'preact/hooks';
import { type Job, JobStatus } from '../../schemas/job.ts';
import { JobKind } from '../../schemas/options.ts';
import { ApiError, api } from '../api.ts';
import { JOBS_PAGE_SIZE } from '../constants.ts';
import { elapsed, formatTime } from '../format.ts';
import { usePolling } from '../poll.ts';
import { MetadataChips, Progress, StatusBadge } from './parts.tsx';

interface Filters {
  status: string;
  kind: string;
  metadata: string;
}

/** GET /jobs with the filters: `metadata` is `key=value`, sent as `metadata[key]=value`. */
function listPath(filters: Filters, after: string | undefined): string {
  const query = new URLSearchParams({ limit: String(JOBS_PAGE_SIZE) });
  if (filters.status) query.set('status', filters.status);
  if (filters.kind) query.set('kind', filters.kind);
  const [key, ...rest] = filters.metadata.split('=');
  if (key?.trim() && rest.length > 0) query.set(`metadata[${key.trim()}]`, rest.join('=').trim());
  if (after) query.set('after', after);
  return `/jobs?${query}`;
}

/** The cursor of the next page, from the Link header GET /jobs answers with. */
function nextCursor(headers: Headers): string | undefined {
  const link = /<([^>]+)>;\s*rel="next"/.exec(headers.get('link') ?? '')?.[1];
  return link ? (new URL(link).searchParams.get('after') ?? undefined) : undefined;
}

/** The jobs list: filters, cursor paging and live updates while the tab is open. */
export function JobsView() {
  const [filters, setFilters] = useState<Filters>({ status: '', kind: '', metadata: '' });
  const [draft, setDraft] = useState<Filters>(filters);
  // The cursors of the pages before this one, so "Previous" goes back exactly.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [next, setNext] = useState<string | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const after = cursors.at(-1);

  usePolling(async () => {
    try {
      const { body, headers } = await api<Job[]>(listPath(filters, after));
      setError(null);
      setNext(nextCursor(headers));
      let changed = false;
      setJobs((previous) => {
        changed = JSON.stringify(previous) !== JSON.stringify(body);
        return changed ? body : previous;
      });
      return changed ? 'changed' : 'same';
    } catch (err) {
      setError(err instanceof ApiError ? `${err.kind}: ${err.message}` : String(err));
      return 'same';
    }
  }, [filters, after]);

  function apply(event: Event) {
    event.preventDefault();
    setFilters(draft);
    setCursors([undefined]);
    setJobs(null);
  }

  return (
    <section aria-labelledby="jobs-title">
      <div class="title-row">
        <h1 id="jobs-title">Jobs</h1>
        <a class="button" href="#/upload">
          Upload
        </a>
      </div>
      <form class="filters" onSubmit={apply} aria-label="Filter jobs">
        <label>
          Status
          <select value={draft.status} onChange={(e) => setDraft({ ...draft, status: e.currentTarget.value })}>
            <option value="">Any</option>
            {JobStatus.options.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Kind
          <select value={draft.kind} onChange={(e) => setDraft({ ...draft, kind: e.currentTarget.value })}>
            <option value="">Any</option>
            {JobKind.options.map((k) => (
              <option key={k} value={k}>
                {k}
              </option>
            ))}
          </select>
        </label>
        <label>
          Metadata
          <input
            placeholder="user_id=usr_abc123"
            value={draft.metadata}
            onInput={(e) => setDraft({ ...draft, metadata: e.currentTarget.value })}
          />
        </label>
        <button type="submit">Filter</button>
      </form>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {jobs === null ? (
        <p aria-busy="true">Loading jobs…</p>
      ) : jobs.length === 0 ? (
        <p class="empty">
          No jobs{filters.status || filters.kind || filters.metadata ? ' match these filters' : ' yet'}.{' '}
          <a href="#/upload">Upload a file</a> to start one.
        </p>
      ) : (
        <table class="jobs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Kind</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
              <th scope="col">Metadata</th>
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => (
              <tr key={job.id} data-job={job.id}>
                <td data-label="Job">
                  <a href={`#/jobs/${job.id}`} class="mono">
                    {job.id}
                  </a>
                </td>
                <td data-label="Status">
                  <StatusBadge status={job.status} />
                </td>
                <td data-label="Kind">{job.kind}</td>
                <td data-label="Progress">
                  <Progress value={job.progress} label={`${job.id} progress`} />
                  <span class="task-bars" aria-hidden="true">
                    {job.tasks.map((t) => (
                      <span key={t.id} class={`task-bar ${t.status}`} title={`${t.kind}: ${t.status} ${Math.round(t.progress)} %`}>
                        <span style={{ width: `${t.progress}%` }} />
                      </span>
                    ))}
                  </span>
                </td>
                <td data-label="Created">{formatTime(job.created_at)}</td>
                <td data-label="Duration">{elapsed(job.started_at, job.finished_at)}</td>
                <td data-label="Metadata">
                  <MetadataChips metadata={job.metadata} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous
        </button>
        <button type="button" disabled={!next} onClick={() => setCursors([...cursors, next])}>
          Next
        </button>
      </nav>
    </section>
  );
}
