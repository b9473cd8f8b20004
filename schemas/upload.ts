import { z } from 'zod';
import { UploadedFile } from './file.ts';

/** `type/subtype` with optional `; name=value` parameters: it goes into a signed header, so nothing else may. */
const MEDIA_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(?:[ \t]*;[ \t]*[\w!#$&^.+-]+=(?:[\w!#$&^.+-]+|"[^"\\\r\n]*"))*$/;

/** Body of POST /uploads. */
export const UploadCreate = z
  .strictObject({
    filename: z.string().min(1).max(255).describe('Kept for your reference; never used as a storage path.'),
    content_type: z
      .string()
      .min(3)
      .max(255)
      .regex(MEDIA_TYPE, 'Expected a media type such as video/mp4')
      .default('application/octet-stream')
      .describe('The upload URL is signed with it: the PUT must send exactly this Content-Type.'),
    size: z.number().int().min(0).optional().describe('Bytes; checked against the 5 GiB single-PUT limit.'),
  })
  .meta({ id: 'UploadCreate' });

/** A direct upload: the File it will become and where to PUT its bytes. */
export const Upload = z
  .object({
    file: UploadedFile,
    upload_url: z.string().describe('PUT the raw bytes here (presigned, straight to storage).'),
    expires_at: z.number().int(),
  })
  .meta({ id: 'Upload' });
export type Upload = z.infer<typeof Upload>;
