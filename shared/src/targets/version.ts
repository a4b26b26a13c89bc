/** Stamped into every rendered deployment document, so a stored document names the code that produced it. */
export const TRANSFORMER_VERSION = '1.0.0';

/** What every target's renderer is given beside the plan. */
export interface RenderContext {
  readonly planId: string;
}
