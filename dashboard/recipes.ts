import type { JobBatchOutput } from '../schemas/job.ts';

/** A named set of outputs made from one upload in one request (POST /jobs/batch). */
export interface Recipe {
  id: string;
  label: string;
  outputs: Pick<JobBatchOutput, 'kind' | 'options'>[];
}

/** The seed's pipelines (README "Five-minute walkthrough"), as the dashboard offers them. */
export const RECIPES: Recipe[] = [
  {
    id: 'video',
    label: 'Video: 1080p MP4 + WebP thumbnail at 2 s + 480p preview',
    outputs: [
      { kind: 'video', options: { width: 1920, format: 'mp4', quality: 'high' } },
      { kind: 'image', options: { start: 2, width: 640, format: 'webp' } },
      { kind: 'video', options: { width: 480, quality: 'low', format: 'mp4' } },
    ],
  },
  {
    id: 'photo',
    label: 'Photo: WebP 1920 + 320',
    outputs: [
      { kind: 'image', options: { width: 1920, format: 'webp' } },
      { kind: 'image', options: { width: 320, format: 'webp' } },
    ],
  },
];
