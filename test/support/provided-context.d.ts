/** Values the global setups hand to tests through vitest's `provide`/`inject`. */
declare module 'vitest' {
  export interface ProvidedContext {
    /** test/support/processor-double.ts */
    processorDoubleUrl: string;
  }
}
export {};
