export type { Architecture, CostEstimate, InstanceType } from './instances.ts';
export { GP3_USD_PER_GIB_MONTH, HOURS_PER_MONTH, cheapestFit, findInstanceType, instanceTypes, monthlyCost } from './instances.ts';
export type { OsImage, OsName } from './os.ts';
export { defaultOs, findOs, operatingSystems } from './os.ts';
