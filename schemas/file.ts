import { z } from 'zod';

/** What Kiln knows about a media file: the probe result, plus id and URL once stored (docs/api.md#the-job-object). */
export const MediaKind = z.enum(['video', 'image', 'audio']);

/** Longest format, MIME type or codec name the processor may report: ffprobe's longest (`mov,mp4,m4a,3gp,3g2,mj2`) is 23. */
export const MEDIA_NAME_MAX_CHARS = 256;
const mediaName = z.string().max(MEDIA_NAME_MAX_CHARS);

/** The HDR a video's transfer characteristics say: PQ (SMPTE ST 2084: HDR10, HDR10+, Dolby Vision's base layer) or HLG. */
export const HdrTransfer = z.enum(['pq', 'hlg']);
export type HdrTransfer = z.infer<typeof HdrTransfer>;

export const MediaInfo = z.object({
  kind: MediaKind,
  format: mediaName.describe('Container or image format, e.g. mp4, webp.'),
  type: mediaName.describe('MIME type.'),
  width: z.number().int().nullable().describe('Width as displayed (rotation applied).'),
  height: z.number().int().nullable().describe('Height as displayed (rotation applied).'),
  duration: z.number().nullable().describe('Seconds.'),
  fps: z.number().nullable(),
  bitrate: z.number().int().nullable().describe('Bits per second.'),
  filesize: z.number().int(),
  codecs: z.object({ video: mediaName.optional(), audio: mediaName.optional() }),
  has_audio: z.boolean(),
  rotation: z.number().int().describe('Rotation the source asked players to apply; 0 for outputs.'),
  hdr: HdrTransfer.nullable()
    .optional()
    .describe(
      "Kiln extension. The video's HDR transfer: `pq` (HDR10, HDR10+, Dolby Vision's base layer) or `hlg`; null for SDR video, audio and images (HDR stills are not detected). Encoded outputs are SDR (tone mapped to BT.709), so null; an import or export keeps the input's. Absent from files probed before Kiln reported it.",
    ),
});
export type MediaInfo = z.infer<typeof MediaInfo>;

export const FileObject = MediaInfo.extend({
  object: z.literal('file'),
  id: z.string(),
  url: z.string(),
  files: z
    .array(MediaInfo.extend({ url: z.string(), name: z.string() }))
    .optional()
    .describe('For adaptive_video: the renditions behind the master playlist.'),
}).meta({ id: 'File' });
export type FileObject = z.infer<typeof FileObject>;

/** A file uploaded through POST /uploads or PUT /files/{id}: stored, not yet probed. */
export const UploadedFile = FileObject.pick({ object: true, id: true, url: true })
  .extend({
    filename: z.string(),
    type: FileObject.shape.type,
    filesize: FileObject.shape.filesize.nullable(),
  })
  .meta({ id: 'UploadedFile' });
