import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { FileObject, HdrTransfer } from '../../schemas/file.ts';
import { isTerminal, type Job, type Task } from '../../schemas/job.ts';
import type { Delivery } from '../../schemas/webhook.ts';
import { ApiError, api } from '../api.ts';
import { elapsed, formatBytes, formatTime } from '../format.ts';
import { usePolling } from '../poll.ts';
import { CopyButton, MetadataChips, Progress, StatusBadge } from './parts.tsx';

/** The curl command that creates the same job again (the key stays a variable, never printed). */
export function curlFor(job: Job): string {
  const body: Record<string, unknown> = { input: job.input, kind: job.kind, options: job.options };
  if (Object.keys(job.metadata).length > 0) body.metadata = job.metadata;
  if (job.webhook_url) body.webhook_url = job.webhook_url;
  const json = JSON.stringify(body).replaceAll("'", "'\\''");
  return `curl -X POST ${location.origin}/jobs \\\n  -H "Authorization: Bearer $KILN_API_KEY" -H "Content-Type: application/json" \\\n  -d '${json}'`;
}

/** One job: tasks, error, probe, outputs, webhook deliveries, raw JSON and the curl that recreates it. */
export function JobView({ id }: { id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  usePolling(async () => {
    try {
      const { body } = await api<Job>(`/jobs/${id}`);
      setError(null);
      let changed = false;
      setJob((previous) => {
        changed = JSON.stringify(previous) !== JSON.stringify(body);
        return changed ? body : previous;
      });
      if (isTerminal(body.status)) return 'stop';
      return changed ? 'changed' : 'same';
    } catch (err) {
      setError(err instanceof ApiError ? `${err.kind}: ${err.message}` : String(err));
      return err instanceof ApiError && err.status === 404 ? 'stop' : 'same';
    }
  }, [id]);

  if (!job) {
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p aria-busy="true">Loading {id}…</p>
    );
  }

  async function cancel() {
    try {
      const { body } = await api<Job>(`/jobs/${id}/cancel`, { method: 'POST' });
      setJob(body);
      setNotice(body.status === 'cancelled' ? 'Job cancelled.' : `The job had already ${body.status}.`);
    } catch (err) {
      setNotice(err instanceof ApiError ? `${err.kind}: ${err.message}` : String(err));
    }
  }

  const probe = job.tasks.find((t) => t.kind === 'probe')?.output ?? inputProbe(job.tasks);
  return (
    <section aria-labelledby="job-title">
      <p>
        <a href="#/">← Jobs</a>
      </p>
      <div class="title-row">
        <h1 id="job-title" class="mono">
          {job.id}
        </h1>
        <StatusBadge status={job.status} />
        {!isTerminal(job.status) && (
          <button type="button" class="danger" onClick={cancel}>
            Cancel job
          </button>
        )}
      </div>
      {notice && <p role="status">{notice}</p>}
      <dl class="facts">
        <dt>Kind</dt>
        <dd>{job.kind}</dd>
        <dt>Progress</dt>
        <dd>
          <Progress value={job.progress} label="Job progress" />
        </dd>
        <dt>Created</dt>
        <dd>{formatTime(job.created_at)}</dd>
        <dt>Duration</dt>
        <dd>{elapsed(job.started_at, job.finished_at)}</dd>
        <dt>Input</dt>
        <dd class="mono wrap">{job.input}</dd>
        <dt>Metadata</dt>
        <dd>
          <MetadataChips metadata={job.metadata} />
        </dd>
      </dl>
      {job.error && (
        <div class="failure" role="alert" aria-labelledby="failure-title">
          <h2 id="failure-title">Why it failed</h2>
          <p class="failure-message">{job.error.message}</p>
          <p>
            Kind: <code class="failure-kind">{job.error.kind}</code>
          </p>
        </div>
      )}
      {job.output && (
        <>
          <h2>Output</h2>
          <Preview file={job.output} />
          <MediaFacts file={job.output} />
          <p>
            <a href={job.output.url} download>
              Download {job.output.format}
            </a>
          </p>
        </>
      )}
      <h2>Tasks</h2>
      <table class="tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
            <th scope="col">Started</th>
            <th scope="col">Took</th>
          </tr>
        </thead>
        <tbody>
          {job.tasks.map((t) => (
            <tr key={t.id}>
              <td data-label="Task">{t.kind}</td>
              <td data-label="Status">
                <StatusBadge status={t.status} />
                {t.error && <span class="task-error"> {t.error.message}</span>}
              </td>
              <td data-label="Progress">
                <Progress value={t.progress} label={`${t.kind} progress`} />
              </td>
              <td data-label="Started">{t.started_at ? formatTime(t.started_at) : '—'}</td>
              <td data-label="Took">{elapsed(t.started_at, t.finished_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {probe && (
        <>
          <h2>Input</h2>
          <MediaFacts file={probe} />
        </>
      )}
      {job.webhook_url && <Deliveries job={job} />}
      <h2>Recreate with curl</h2>
      <pre class="code">{curlFor(job)}</pre>
      <CopyButton text={curlFor(job)} label="Copy curl command" />
      <details>
        <summary>Raw JSON</summary>
        <pre class="code">{JSON.stringify(job, null, 2)}</pre>
      </details>
    </section>
  );
}

/** The probe of the input: the encode task's input is the File the probe read. */
function inputProbe(tasks: Task[]): FileObject | null {
  for (const t of tasks) if (t.input && t.input.object === 'file') return t.input;
  return null;
}

/** How the probe panel names each HDR transfer. */
const HDR_NAMES: Record<HdrTransfer, string> = { pq: 'PQ (SMPTE ST 2084)', hlg: 'HLG (ARIB STD-B67)' };

function MediaFacts({ file }: { file: FileObject }) {
  const rows: [string, string][] = [
    ['Format', `${file.format} (${file.type})`],
    ['Size', file.width && file.height ? `${file.width}×${file.height}` : '—'],
    ['Duration', file.duration === null ? '—' : `${file.duration.toFixed(2)} s`],
    ['Codecs', [file.codecs.video, file.codecs.audio].filter(Boolean).join(' + ') || '—'],
    ['Frame rate', file.fps === null ? '—' : `${file.fps} fps`],
    ['Rotation', `${file.rotation}°`],
    ['File size', formatBytes(file.filesize)],
  ];
  // Files probed before Kiln reported HDR have no `hdr`: nothing is shown rather than a guess.
  if (file.kind === 'video' && file.hdr !== undefined) rows.push(['HDR', file.hdr ? HDR_NAMES[file.hdr] : 'no (SDR)']);
  return (
    <dl class="facts">
      {rows.map(([k, v]) => (
        <Fragment key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </Fragment>
      ))}
    </dl>
  );
}

/** An output shown inline: video (HLS through hls.js where the browser has no native HLS), image or audio. */
function Preview({ file }: { file: FileObject }) {
  const video = useRef<HTMLVideoElement>(null);
  const hls = file.type === 'application/vnd.apple.mpegurl' || file.url.endsWith('.m3u8');
  useEffect(() => {
    const el = video.current;
    if (!hls || !el) return;
    if (el.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari, and Chromium builds with native HLS, play the playlist as it is.
      el.src = file.url;
      return;
    }
    let destroy = () => {};
    let gone = false;
    // hls.js is most of the bundle's weight: loaded only when a job has an HLS output.
    void import('hls.js').then(({ default: Hls }) => {
      if (gone || !Hls.isSupported()) return;
      const player = new Hls();
      player.loadSource(file.url);
      player.attachMedia(el);
      destroy = () => player.destroy();
    });
    return () => {
      gone = true;
      destroy();
    };
  }, [file.url, hls]);
  const box = file.width && file.height ? { aspectRatio: `${file.width} / ${file.height}` } : undefined;
  if (file.kind === 'image')
    return (
      <img
        class="preview"
        src={file.url}
        alt={`Output, ${file.format} ${file.width ?? ''}×${file.height ?? ''}`}
        width={file.width ?? undefined}
        height={file.height ?? undefined}
      />
    );
  if (file.kind === 'audio')
    // biome-ignore lint/a11y/useMediaCaption: Kiln's outputs carry no caption track to offer: this previews the user's own encode.
    return <audio class="preview-audio" src={file.url} controls preload="metadata" aria-label="The output audio" />;
  return (
    // biome-ignore lint/a11y/useMediaCaption: Kiln's outputs carry no caption track to offer: this previews the user's own encode.
    <video
      ref={video}
      class="preview"
      src={hls ? undefined : file.url}
      controls
      preload="metadata"
      playsInline
      style={box}
      aria-label="The output video"
    />
  );
}

/** The job's webhook: every attempt, and a button to send it again once the job finished. */
function Deliveries({ job }: { job: Job }) {
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  usePolling(async () => {
    const { body } = await api<Delivery[]>(`/jobs/${job.id}/deliveries`);
    let changed = false;
    setDeliveries((previous) => {
      changed = JSON.stringify(previous) !== JSON.stringify(body);
      return changed ? body : previous;
    });
    return changed ? 'changed' : 'same';
  }, [job.id, job.status]);
  async function redeliver() {
    try {
      await api(`/jobs/${job.id}/deliveries/redeliver`, { method: 'POST' });
      setMessage('Redelivery scheduled: the new attempt appears below within seconds.');
      const { body } = await api<Delivery[]>(`/jobs/${job.id}/deliveries`);
      setDeliveries(body);
    } catch (err) {
      setMessage(err instanceof ApiError ? `${err.kind}: ${err.message}` : String(err));
    }
  }
  return (
    <section aria-labelledby="deliveries-title">
      <div class="title-row">
        <h2 id="deliveries-title">Webhook deliveries</h2>
        <button type="button" onClick={redeliver} disabled={!isTerminal(job.status)}>
          Redeliver
        </button>
      </div>
      <p class="mono wrap">{job.webhook_url}</p>
      {message && <p role="status">{message}</p>}
      {deliveries === null ? (
        <p aria-busy="true">Loading deliveries…</p>
      ) : deliveries.length === 0 ? (
        <p class="empty">No attempt yet: the webhook is sent when the job finishes.</p>
      ) : (
        <table class="deliveries">
          <thead>
            <tr>
              <th scope="col">Attempt</th>
              <th scope="col">Trigger</th>
              <th scope="col">Answer</th>
              <th scope="col">Latency</th>
              <th scope="col">Sent</th>
              <th scope="col">Next retry</th>
            </tr>
          </thead>
          <tbody>
            {deliveries.map((d) => (
              <tr key={d.id} data-delivery={d.id}>
                <td data-label="Attempt">{d.attempt}</td>
                <td data-label="Trigger">{d.trigger}</td>
                <td data-label="Answer">{d.status === null ? `unreachable: ${d.error ?? ''}` : `HTTP ${d.status}`}</td>
                <td data-label="Latency">{d.duration_ms} ms</td>
                <td data-label="Sent">{formatTime(d.created_at)}</td>
                <td data-label="Next retry">{d.next_attempt_at ? formatTime(d.next_attempt_at) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
