export { checkBackupInterval, checkCron, isTimeZone, nextRun, toScheduleExpression } from './cron.ts';
export { normalisedPlanJsonSchema, planJsonSchema, shorthandJsonSchema } from './json-schema.ts';
export { checkCidr } from './network.ts';
export { API_VERSION, DEFAULT_PG_VERSION, componentSchema, osNames, pgVersions, planSchema, targetSchema } from './schema.ts';
export type { Component, Plan, PlanInput, Target } from './schema.ts';
export { isShorthand, shorthandSchema } from './shorthand.ts';
export { pointer, toProblems } from './problems.ts';
export { validatePlan } from './validate.ts';
export type { ValidateOptions, ValidationResult } from './validate.ts';
