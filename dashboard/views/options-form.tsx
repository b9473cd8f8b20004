import { z } from 'zod';
import { JobKind, OptionsByKind } from '../../schemas/options.ts';

interface Field {
  name: string;
  type: 'number' | 'text' | 'boolean' | 'choice';
  choices: string[];
  min?: number;
  max?: number;
  default?: unknown;
  description?: string;
}

/** A JSON Schema property, as much of it as the form reads. */
interface Property {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  description?: string;
  anyOf?: Property[];
}

/**
 * The fields of a kind's options, read from the same zod schema the API validates with (through
 * its JSON Schema): ranges, choices and defaults are the API's own. Options Kiln refuses are left out.
 */
export function fieldsFor(kind: JobKind): Field[] {
  type ObjectSchema = { properties?: Record<string, Property>; $ref?: string; $defs?: Record<string, ObjectSchema> };
  const document = z.toJSONSchema(OptionsByKind[kind], { io: 'input', unrepresentable: 'any' }) as ObjectSchema;
  // A schema with a meta id comes back as a reference to its definition.
  const schema = document.$ref ? (document.$defs?.[document.$ref.replace('#/$defs/', '')] ?? {}) : document;
  const fields: Field[] = [];
  for (const [name, prop] of Object.entries(schema.properties ?? {})) {
    if (prop.description?.startsWith('Not supported')) continue;
    const variants = prop.anyOf ?? [prop];
    const choices = variants.flatMap((v) => (v.enum ?? []).map(String));
    const types = new Set(variants.map((v) => v.type));
    const numeric = variants.find((v) => v.type === 'number' || v.type === 'integer');
    const field: Field = {
      name,
      type:
        choices.length > 0 && types.size === 1
          ? 'choice'
          : types.has('boolean')
            ? 'boolean'
            : types.size === 1 && numeric
              ? 'number'
              : 'text',
      choices,
    };
    if (numeric?.minimum !== undefined) field.min = numeric.minimum;
    if (numeric?.maximum !== undefined) field.max = numeric.maximum;
    if (prop.default !== undefined) field.default = prop.default;
    if (prop.description) field.description = prop.description;
    if (field.type === 'choice' || field.type === 'boolean' || field.type === 'number' || types.has('string')) fields.push(field);
  }
  return fields;
}

/** A form value as the API wants it: numbers as numbers ("50%" stays a string), empty as absent. */
function parseValue(field: Field, raw: string): unknown {
  if (raw === '') return undefined;
  if (field.type === 'boolean') return raw === 'true';
  if (field.type === 'number' || (field.type === 'text' && /^-?\d+(\.\d+)?$/.test(raw))) return Number(raw);
  return raw;
}

export function optionsFrom(kind: JobKind, values: Record<string, string>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const field of fieldsFor(kind)) {
    const value = parseValue(field, values[field.name] ?? '');
    if (value !== undefined) options[field.name] = value;
  }
  return options;
}

/** The options of one kind as labelled inputs; blank means the API's default. */
export function OptionsForm({
  kind,
  values,
  onChange,
}: {
  kind: JobKind;
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  return (
    <fieldset class="options">
      <legend>{kind} options (blank = default)</legend>
      {fieldsFor(kind).map((f) => {
        const id = `opt-${f.name}`;
        const range = f.min !== undefined || f.max !== undefined ? ` ${f.min ?? ''}–${f.max ?? ''}` : '';
        const hint = [f.description, f.default !== undefined ? `Default ${String(f.default)}.` : ''].filter(Boolean).join(' ');
        const set = (v: string) => onChange({ ...values, [f.name]: v });
        return (
          <div key={f.name} class="field">
            <label for={id}>
              {f.name}
              <span class="muted">{range}</span>
            </label>
            {f.type === 'choice' || f.type === 'boolean' ? (
              <select
                id={id}
                value={values[f.name] ?? ''}
                onChange={(e) => set(e.currentTarget.value)}
                aria-describedby={hint ? `${id}-hint` : undefined}
              >
                <option value="">default</option>
                {(f.type === 'boolean' ? ['true', 'false'] : f.choices).map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            ) : f.type === 'number' ? (
              <input
                id={id}
                type="number"
                min={f.min}
                max={f.max}
                step="any"
                value={values[f.name] ?? ''}
                onInput={(e) => set(e.currentTarget.value)}
                aria-describedby={hint ? `${id}-hint` : undefined}
              />
            ) : (
              <input
                id={id}
                type="text"
                value={values[f.name] ?? ''}
                onInput={(e) => set(e.currentTarget.value)}
                aria-describedby={hint ? `${id}-hint` : undefined}
              />
            )}
            {hint && (
              <small id={`${id}-hint`} class="hint">
                {hint}
              </small>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}

export { JobKind };
