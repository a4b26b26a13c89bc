export { componentSummaries, deployModeFor, isBusy, planStatus, statusReason } from './deployments.ts';
export type {
  WorkflowMode,
  AppBuildPlan,
  AppRelease,
  DeployedApp,
  DeployMode,
  ComponentStatus,
  ComponentSummary,
  DeployedComponent,
  DeployedNode,
  DeploymentRecord,
  DeploymentRepository,
  DeploymentStatus,
  Failure,
  MemberStatus,
} from './deployments.ts';
export { leaderAfter, leaderOf, movedLeaders } from './leaders.ts';
export { redeployProblems } from './redeploy.ts';
export { readableCause, timelineFromHistory } from './timeline.ts';
export type { HistoryEvent, StepStatus, TimelineStep } from './timeline.ts';
export { DeployService } from './service.ts';
export type { DeployServiceDependencies, RestoreRequest, WorkflowEngine, WorkflowInput } from './service.ts';
export { caFileName, connectionUri } from './connection.ts';
export type { ConnectionEndpoint, SessionAttributes } from './connection.ts';
