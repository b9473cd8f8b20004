import { useState } from 'preact/hooks';
import { COPIED_NOTICE_MS } from '../constants.ts';

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge ${status}`}>{status}</span>;
}

/** A progress bar of fixed size, so updates never move the layout. */
export function Progress({ value, label }: { value: number; label: string }) {
  const rounded = Math.round(value);
  return (
    <span class="progress">
      <progress max={100} value={rounded} aria-label={label} />
      <span class="num">{`${rounded} %`}</span>
    </span>
  );
}

export function MetadataChips({ metadata }: { metadata: Record<string, string | number | boolean> }) {
  const entries = Object.entries(metadata);
  if (entries.length === 0) return <span class="muted">—</span>;
  return (
    <span class="chips">
      {entries.map(([k, v]) => (
        <span key={k} class="chip">
          {k}: {String(v)}
        </span>
      ))}
    </span>
  );
}

/** A button that copies `text` and says so for a moment (to screen readers too). */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <span class="copy">
      <button
        type="button"
        class="quiet"
        onClick={async () => {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), COPIED_NOTICE_MS);
        }}
      >
        {label}
      </button>
      <span class="copied" aria-live="polite">
        {copied ? 'Copied' : ''}
      </span>
    </span>
  );
}
