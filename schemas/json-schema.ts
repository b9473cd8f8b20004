import { z } from 'zod';

/**
 * The parts of a JSON Schema (as `z.toJSONSchema` writes it) that Kiln reads back: the API
 * reference generator and the fuzz suites both walk the schemas of the same zod types.
 */
export interface JsonSchema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  format?: string;
  description?: string;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  propertyNames?: JsonSchema;
  additionalProperties?: JsonSchema | boolean;
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
}

/** The object schema behind a zod schema, as a request reads it, with its `$defs` indirection resolved. */
export function objectSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const name = json.$ref?.replace('#/$defs/', '');
  return name ? json.$defs![name]! : json;
}
