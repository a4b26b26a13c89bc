import type { PreSignUpTriggerEvent } from 'aws-lambda';

/**
 * Cognito PreSignUp trigger for the local cloud: a newcomer signs up and can log in at once,
 * with no email to confirm. The AWS user pool does not attach it; there, sign-ups confirm by email.
 */
export function handler(event: PreSignUpTriggerEvent): Promise<PreSignUpTriggerEvent> {
  event.response.autoConfirmUser = true;
  if (event.request.userAttributes.email !== undefined) event.response.autoVerifyEmail = true;
  return Promise.resolve(event);
}
