export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PLAN_ID, PlanService, etagOf, planStatuses, toResource, versionFromIfMatch } from './plans.ts';
export type { PlanPage, PlanRecord, PlanRepository, PlanResource, PlanServiceDependencies, PlanStatus } from './plans.ts';
