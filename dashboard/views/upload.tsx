import { useState } from 'preact/hooks';
import type { Job, JobBatchCreate, JobCreate } from '../../schemas/job.ts';
import type { JobKind } from '../../schemas/options.ts';
import type { Upload } from '../../schemas/upload.ts';
import { ApiError, api } from '../api.ts';
import { formatBytes } from '../format.ts';
import { RECIPES } from '../recipes.ts';
import { OptionsForm, optionsFrom } from './options-form.tsx';

interface FileUpload {
  key: string;
  file: File;
  /** 0–100 */
  progress: number;
  state: 'uploading' | 'uploaded' | 'failed';
  fileId?: string;
  error?: string;
}

/**
 * PUTs the File to the presigned URL with XHR, whose upload events give per-file progress (fetch
 * has none for request bodies). The browser streams the File from disk: it is never read into memory.
 */
function putFile(url: string, file: File, contentType: string, onProgress: (percent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.setRequestHeader('content-type', contentType);
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable) onProgress((e.loaded / e.total) * 100);
    };
    xhr.onload = () => (xhr.status < 300 ? resolve() : reject(new Error(`Storage answered ${xhr.status} to the upload; try again.`)));
    xhr.onerror = () => reject(new Error('The upload was cut off; check your connection and try again.'));
    xhr.send(file);
  });
}

/** Upload: drop files, watch each upload, then make jobs from them with a seed recipe or a form. */
export function UploadView() {
  const [uploads, setUploads] = useState<FileUpload[]>([]);
  const [dragging, setDragging] = useState(false);
  const [recipe, setRecipe] = useState<string>('video');
  const [kind, setKind] = useState<JobKind>('video');
  const [optionValues, setOptionValues] = useState<Record<string, string>>({});
  const [metadata, setMetadata] = useState<{ key: string; value: string }[]>([{ key: '', value: '' }]);
  const [webhookUrl, setWebhookUrl] = useState('');
  const [created, setCreated] = useState<Job[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function update(key: string, patch: Partial<FileUpload>) {
    setUploads((all) => all.map((u) => (u.key === key ? { ...u, ...patch } : u)));
  }

  async function start(file: File) {
    const key = `${file.name}-${file.size}-${crypto.randomUUID()}`;
    setUploads((all) => [...all, { key, file, progress: 0, state: 'uploading' }]);
    const contentType = file.type || 'application/octet-stream';
    try {
      const { body } = await api<Upload>('/uploads', {
        method: 'POST',
        json: { filename: file.name, content_type: contentType, size: file.size },
      });
      await putFile(body.upload_url, file, contentType, (progress) => update(key, { progress }));
      update(key, { progress: 100, state: 'uploaded', fileId: body.file.id });
      if (file.type.startsWith('image/')) setRecipe('photo');
    } catch (err) {
      update(key, { state: 'failed', error: err instanceof ApiError ? `${err.kind}: ${err.message}` : (err as Error).message });
    }
  }

  function add(files: FileList | null) {
    for (const file of Array.from(files ?? [])) void start(file);
  }

  async function createJobs(event: Event) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const meta = Object.fromEntries(metadata.filter((m) => m.key.trim()).map((m) => [m.key.trim(), m.value]));
    const extras = {
      ...(Object.keys(meta).length ? { metadata: meta } : {}),
      ...(webhookUrl.trim() ? { webhook_url: webhookUrl.trim() } : {}),
    };
    try {
      const jobs: Job[] = [];
      for (const u of uploads.filter((u) => u.state === 'uploaded')) {
        const chosen = RECIPES.find((r) => r.id === recipe);
        if (chosen) {
          const body: JobBatchCreate = { input: u.fileId!, outputs: chosen.outputs.map((o) => ({ ...o, ...extras })) };
          jobs.push(...(await api<Job[]>('/jobs/batch', { method: 'POST', json: body })).body);
        } else {
          const body: JobCreate = { input: u.fileId!, kind, options: optionsFrom(kind, optionValues), ...extras };
          jobs.push((await api<Job>('/jobs', { method: 'POST', json: body })).body);
        }
      }
      setCreated(jobs);
    } catch (err) {
      setError(err instanceof ApiError ? `${err.kind}: ${err.message}` : String(err));
    } finally {
      setBusy(false);
    }
  }

  const ready = uploads.some((u) => u.state === 'uploaded');
  return (
    <section aria-labelledby="upload-title">
      <h1 id="upload-title">Upload</h1>
      <label
        class={`drop${dragging ? ' dragging' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(e) => {
          e.preventDefault();
          setDragging(false);
          add(e.dataTransfer?.files ?? null);
        }}
      >
        <span>Drop video, image or audio files here, or choose files</span>
        <input type="file" multiple onChange={(e) => add(e.currentTarget.files)} aria-label="Files to upload" />
      </label>
      {uploads.length > 0 && (
        <ul class="uploads" aria-label="Uploads">
          {uploads.map((u) => (
            <li key={u.key} data-upload={u.file.name}>
              <span class="name">{u.file.name}</span>
              <span class="muted">{formatBytes(u.file.size)}</span>
              <progress max={100} value={Math.round(u.progress)} aria-label={`${u.file.name} upload progress`} />
              <span class="num">
                {u.state === 'uploaded' ? 'uploaded' : u.state === 'failed' ? 'failed' : `${Math.round(u.progress)} %`}
              </span>
              {u.fileId && <span class="mono">{u.fileId}</span>}
              {u.error && (
                <span class="error" role="alert">
                  {u.error}
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
      <form class="card" onSubmit={createJobs} aria-labelledby="make-title">
        <h2 id="make-title">Make jobs from the uploads</h2>
        <fieldset>
          <legend>Recipe</legend>
          {[...RECIPES.map((r) => ({ id: r.id, label: r.label })), { id: 'custom', label: 'One job from the options form' }].map((r) => (
            <label key={r.id} class="radio">
              <input type="radio" name="recipe" value={r.id} checked={recipe === r.id} onChange={() => setRecipe(r.id)} />
              {r.label}
            </label>
          ))}
        </fieldset>
        {recipe === 'custom' && (
          <>
            <label for="job-kind">Kind</label>
            <select
              id="job-kind"
              value={kind}
              onChange={(e) => {
                setKind(e.currentTarget.value as JobKind);
                setOptionValues({});
              }}
            >
              {(['video', 'image', 'audio', 'animation', 'adaptive_video'] as const).map((k) => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
            <OptionsForm kind={kind} values={optionValues} onChange={setOptionValues} />
          </>
        )}
        <fieldset>
          <legend>Metadata</legend>
          {metadata.map((m, i) => (
            <div class="pair" key={i}>
              <input
                aria-label={`Metadata key ${i + 1}`}
                placeholder="user_id"
                value={m.key}
                onInput={(e) => setMetadata(metadata.map((x, j) => (j === i ? { ...x, key: e.currentTarget.value } : x)))}
              />
              <input
                aria-label={`Metadata value ${i + 1}`}
                placeholder="usr_abc123"
                value={m.value}
                onInput={(e) => setMetadata(metadata.map((x, j) => (j === i ? { ...x, value: e.currentTarget.value } : x)))}
              />
            </div>
          ))}
          <button type="button" class="quiet" onClick={() => setMetadata([...metadata, { key: '', value: '' }])}>
            Add metadata
          </button>
        </fieldset>
        <label for="webhook-url">Webhook URL (optional)</label>
        <input
          id="webhook-url"
          type="url"
          placeholder="https://example.com/hooks/kiln"
          value={webhookUrl}
          onInput={(e) => setWebhookUrl(e.currentTarget.value)}
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" disabled={!ready || busy}>
          {busy ? 'Creating…' : 'Create jobs'}
        </button>
      </form>
      {created.length > 0 && (
        <section aria-labelledby="created-title">
          <h2 id="created-title">Created</h2>
          <ul class="created">
            {created.map((j) => (
              <li key={j.id}>
                <a href={`#/jobs/${j.id}`} class="mono">
                  {j.id}
                </a>{' '}
                {j.kind} {JSON.stringify(j.options)}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
