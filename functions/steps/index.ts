// Which module runs behind each `${...}` substitution of the workflow definitions. The CDK app
// creates one Lambda function per entry and passes its ARN; the local runner imports the module.

export const stepModules = {
  RenderFunctionArn: 'steps/render.ts',
  PreflightFunctionArn: 'steps/preflight.ts',
  EnsurePasswordFunctionArn: 'steps/ensure-password.ts',
  EnsureSecurityGroupFunctionArn: 'steps/ensure-security-group.ts',
  LaunchNodesFunctionArn: 'steps/launch-nodes.ts',
  CheckNodesFunctionArn: 'steps/check-nodes.ts',
  SendInstallFunctionArn: 'steps/send-install.ts',
  SendConfigureFunctionArn: 'steps/send-configure.ts',
  CheckCommandFunctionArn: 'steps/check-command.ts',
  VerifyFunctionArn: 'steps/verify.ts',
  RegisterMonitoringFunctionArn: 'steps/register-monitoring.ts',
  MarkRunningFunctionArn: 'steps/mark-running.ts',
  RecordFailureFunctionArn: 'steps/record-failure.ts',
  CompensateFunctionArn: 'steps/compensate.ts',
  DestroyFunctionArn: 'steps/destroy.ts',
  DeletePlanFunctionArn: 'steps/delete-plan.ts',
  StartBackupFunctionArn: 'steps/backup-start.ts',
  DumpBackupFunctionArn: 'steps/backup-dump.ts',
  ValidateBackupFunctionArn: 'steps/backup-validate.ts',
  ApplyRetentionFunctionArn: 'steps/backup-retention.ts',
  FinishBackupFunctionArn: 'steps/backup-finish.ts',
  RecordBackupFailureFunctionArn: 'steps/backup-failed.ts',
  RestoreBackupFunctionArn: 'steps/restore.ts',
  FinishRestoreFunctionArn: 'steps/restore-finish.ts',
  RestoreToPointFunctionArn: 'steps/restore-to-point.ts',
  RebuildReplicasFunctionArn: 'steps/rebuild-replicas.ts',
  StartFullBackupFunctionArn: 'steps/restore-full-backup.ts',
} as const;

export type StepSubstitution = keyof typeof stepModules;
