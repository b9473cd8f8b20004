/**
 * The token of an `Authorization: Bearer <token>` header, or null when there is none; the Worker's
 * API keys and callback tokens and the processor's shared secret all arrive this way.
 *
 * @example bearerToken('Bearer sk_1') // 'sk_1'
 */
export function bearerToken(header: string | undefined): string | null {
  return /^Bearer\s+(.+)$/i.exec(header ?? '')?.[1] ?? null;
}
