import { App, Validations } from 'aws-cdk-lib';
import type { AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { apiDomainFromContext } from './api.ts';
import { azureAppIdFromContext } from './cloud-federation.ts';
import { CUSTOMER_STACK_ID, CustomerAccountStack } from './customer-account-stack.ts';
import { alertsFromContext } from './monitoring.ts';
import { PLATFORM_STACK_ID } from './names.ts';
import { PlatformStack } from './platform-stack.ts';

// The CDK app: the platform, and the template customers launch to connect their accounts (which
// the platform also publishes, for the console's launch link). Both are environment-agnostic (no
// account or region at synth, so no lookups and no credentials), and cdk-nag's AWS Solutions pack
// checks all of it: a finding that is not acknowledged with a reason fails the synth.

export interface CloudSeedApp {
  readonly app: App;
  readonly platform: PlatformStack;
  readonly customerAccount: CustomerAccountStack;
}

export function createApp(props: AppProps & { readonly webBuildDir?: string } = {}): CloudSeedApp {
  const { webBuildDir, ...appProps } = props;
  const app = new App(appProps);
  const stage = String(app.node.tryGetContext('stage') ?? 'dev');
  const apiDomain = apiDomainFromContext((key) => app.node.tryGetContext(key));
  const azureAppId = azureAppIdFromContext((key) => app.node.tryGetContext(key));
  const alertsFrom = alertsFromContext((key) => app.node.tryGetContext(key));
  const platform = new PlatformStack(app, PLATFORM_STACK_ID, {
    stage,
    ...(apiDomain ? { apiDomain } : {}),
    ...(azureAppId ? { azureAppId } : {}),
    ...(alertsFrom ? { alertsFrom } : {}),
    description: `CloudSeed platform (${stage})`,
    ...(webBuildDir ? { webBuildDir } : {}),
  });
  const customerAccount = new CustomerAccountStack(app, CUSTOMER_STACK_ID);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, platform, customerAccount };
}
