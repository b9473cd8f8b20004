/** Values the global setups hand to tests through vitest's `provide`/`inject`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** test/support/processor-double.ts */
    processorDoubleUrl: string;
    /** test/support/containers-setup.ts: variables for wrangler's Docker, or null when there is no engine. */
    dockerEnv: Record<string, string> | null;
  }
}

export {};
