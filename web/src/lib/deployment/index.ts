// The deployment view and its pieces the editor mounts.
export { default as DeploymentPanel } from './deployment-panel.svelte';
export { default as DeletePlanButton } from './delete-plan-button.svelte';
export { DeploymentState, waitUntilGone, FAST_POLL_MS, SLOW_POLL_MS } from './deployment.svelte.ts';
export type { DeploymentClient, TeardownOutcome } from './deployment.svelte.ts';
