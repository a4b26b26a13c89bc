import { GetCommandInvocationCommand, SendCommandCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { decodedScript, inputs, mockAws, node, provider, ssmMock, target } from '../support/aws.ts';

// One of the plan's roles gets a new password on AWS: sh/role-password.sh sent with SSM Run Command
// to the primary with the SCRAM verifier only (the password never reaches the node nor SSM's
// command history), and a role the node does not manage refused with the reason.

mockAws();

const primary = node('db-0', 'primary', 'i-0000000000000000a');
const VERIFIER = 'SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0c2FsdA==$c3RvcmVk:c2VydmVy';

function answers(stdout: string, status: 'Success' | 'Failed' = 'Success', stderr = ''): void {
  ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-password' } });
  ssmMock
    .on(GetCommandInvocationCommand)
    .resolves({ Status: status, ResponseCode: status === 'Success' ? 0 : 1, StandardOutputContent: stdout, StandardErrorContent: stderr });
}

describe("a role's password on AWS", () => {
  it('runs the script on the primary with the verifier and the managed-role check, and nothing else secret', async () => {
    answers('CLOUDSEED_RESULT {"result":"set"}\n');

    await provider().setRolePassword(target(), primary, 'reporting', VERIFIER);

    const [sent] = inputs(ssmMock.commandCalls(SendCommandCommand));
    expect(sent).toMatchObject({
      InstanceIds: ['i-0000000000000000a'],
      Comment: 'CloudSeed p-1/db role-password',
      DocumentName: 'AWS-RunShellScript',
    });
    const script = decodedScript(sent!.Parameters!['commands']!);
    expect(script).toContain("TASK='role-password'\nROLE='reporting'\n");
    expect(script).toContain(String.raw`g.rolname = '\''cloudseed_roles'\'' AND r.rolname = '\''reporting'\'' AND NOT r.rolsuper AND r.rolcanlogin`);
    expect(script).toContain(VERIFIER);
    expect(script).toContain('-d postgres');
  });

  it('says the role is not one the node manages when the managed-role check refuses it', async () => {
    answers('', 'Failed', "cloudseed role-password: role reporting is not one of the plan's roles here: deploy the plan with it first");
    await expect(provider().setRolePassword(target(), primary, 'reporting', VERIFIER)).rejects.toThrow(
      "role reporting is not one of the plan's roles here: deploy the plan with it first",
    );
  });

  it('refuses an answer that is not the script’s', async () => {
    answers('CLOUDSEED_RESULT {"result":"maybe"}\n');
    await expect(provider().setRolePassword(target(), primary, 'reporting', VERIFIER)).rejects.toThrow(
      'setting the password of role reporting on db-0 (i-0000000000000000a) gave no answer',
    );
  });
});
