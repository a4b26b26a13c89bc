export { AwsAppProvider } from './aws-apps.ts';
export type { AwsAppProviderOptions } from './aws-apps.ts';
export { defaultAppClients } from './clients.ts';
export type { AppClientsFactory, AppPlacement, AppServiceClients } from './clients.ts';
export {
  APP_BUILD_ROLE_NAME,
  APP_LOG_GROUP_PREFIX,
  APP_NAME_PREFIX,
  APP_REPOSITORY_PREFIX,
  APP_ROLE_PATH,
  APP_TASK_EXECUTION_ROLE_NAME,
  APP_TASK_PARAMETER_PATTERNS,
  appNames,
} from './names.ts';
