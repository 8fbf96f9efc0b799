// The fixes the doctor offers, as an AWS CLI command and a Terraform snippet. Every value comes
// from AWS's own answers or the doctor's checks and is quoted for a POSIX shell and for HCL.
import type { DoctorFix, DoctorGroupChange } from '../../contract';

/** One shell word: single-quoted unless it is plainly safe. */
export function sh(word: string): string {
  return /^[A-Za-z0-9_./:=@,+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
/** An HCL string literal. */
const hcl = (s: string) => JSON.stringify(s).replace(/\$\{/g, '$${').replace(/%\{/g, '%%{');
const tfName = (s: string) => s.replace(/[^A-Za-z0-9_]/g, '_');

export function groupChangeFix(region: string, change: DoctorGroupChange): DoctorFix {
  const peer = 'cidr' in change.peer ? `IpRanges=[{CidrIp=${change.peer.cidr},Description=keyless-doctor}]` : `UserIdGroupPairs=[{GroupId=${change.peer.groupId},Description=keyless-doctor}]`;
  const cli = `aws ec2 authorize-security-group-${change.direction} --region ${sh(region)} --group-id ${sh(change.groupId)} --ip-permissions ${sh(`IpProtocol=tcp,FromPort=22,ToPort=22,${peer}`)}`;
  const peerTf = 'cidr' in change.peer ? `  cidr_ipv4                    = ${hcl(change.peer.cidr)}` : `  referenced_security_group_id = ${hcl(change.peer.groupId)}`;
  const terraform = [
    `resource "aws_vpc_security_group_${change.direction}_rule" "ssh_${change.direction}_${tfName(change.groupId)}" {`,
    `  security_group_id            = ${hcl(change.groupId)}`,
    peerTf,
    '  ip_protocol                  = "tcp"',
    '  from_port                    = 22',
    '  to_port                      = 22',
    '  description                  = "keyless-doctor"',
    '}',
  ].join('\n');
  return { cli, terraform, change };
}

/** An identity policy statement for one action, attached to the caller's user or role. */
export function iamFix(callerArn: string, action: string, resource: string, condition?: Record<string, Record<string, string | number>>): DoctorFix {
  const statement = { Effect: 'Allow', Action: action, Resource: resource, ...(condition ? { Condition: condition } : {}) };
  const doc = JSON.stringify({ Version: '2012-10-17', Statement: [statement] });
  const assumed = /:assumed-role\/([^/]+)\//.exec(callerArn);
  const name = { kind: assumed || /:role\//.test(callerArn) ? 'role' : 'user', id: assumed ? assumed[1]! : (callerArn.split('/').pop() ?? '') };
  const policyName = `keyless-${action.split(':')[1]}`;
  const cli = `aws iam put-${name.kind}-policy --${name.kind}-name ${sh(name.id)} --policy-name ${sh(policyName)} --policy-document ${sh(doc)}`;
  const terraform = [
    `resource "aws_iam_${name.kind}_policy" "${tfName(policyName)}" {`,
    `  name   = ${hcl(policyName)}`,
    `  ${name.kind}   = ${hcl(name.id)}`,
    `  policy = jsonencode(${JSON.stringify({ Version: '2012-10-17', Statement: [statement] }, null, 2).replace(/\n/g, '\n  ')})`,
    '}',
  ].join('\n');
  return { cli, terraform };
}

export function startFix(region: string, instanceId: string): DoctorFix {
  return {
    cli: `aws ec2 start-instances --region ${sh(region)} --instance-ids ${sh(instanceId)}`,
    terraform: [`resource "aws_ec2_instance_state" "${tfName(instanceId)}" {`, `  instance_id = ${hcl(instanceId)}`, '  state       = "running"', '}'].join('\n'),
  };
}

export function rebootFix(region: string, instanceId: string): DoctorFix {
  return {
    cli: `aws ec2 reboot-instances --region ${sh(region)} --instance-ids ${sh(instanceId)}`,
    terraform: `# A failed status check is not configuration: reboot the instance, or stop and start it to move it to healthy hardware.\n# terraform apply -replace=aws_instance.<name>`,
  };
}

export function metadataFix(region: string, instanceId: string): DoctorFix {
  return {
    cli: `aws ec2 modify-instance-metadata-options --region ${sh(region)} --instance-id ${sh(instanceId)} --http-endpoint enabled --http-tokens required`,
    terraform: ['resource "aws_instance" "<name>" {', '  # …', '  metadata_options {', '    http_endpoint = "enabled"', '    http_tokens   = "required"', '  }', '}'].join('\n'),
  };
}

export function osUserFix(region: string, instanceId: string, expected: string): DoctorFix {
  return {
    cli: `aws ec2-instance-connect ssh --region ${sh(region)} --instance-id ${sh(instanceId)} --os-user ${sh(expected)}`,
    terraform: `# The AMI's login user is ${expected}: set it as the host's OS user in Keyless (no AWS change).`,
  };
}

export function routeFix(region: string, routeTableId: string, gatewayId: string | undefined): DoctorFix {
  const igw = gatewayId ?? '<internet-gateway-id>';
  return {
    cli: `aws ec2 create-route --region ${sh(region)} --route-table-id ${sh(routeTableId)} --destination-cidr-block 0.0.0.0/0 --gateway-id ${sh(igw)}`,
    terraform: [`resource "aws_route" "internet_${tfName(routeTableId)}" {`, `  route_table_id         = ${hcl(routeTableId)}`, '  destination_cidr_block = "0.0.0.0/0"', `  gateway_id             = ${hcl(igw)}`, '}'].join('\n'),
  };
}

export function endpointFix(region: string, subnetId: string, groupIds: string[]): DoctorFix {
  return {
    cli: `aws ec2 create-instance-connect-endpoint --region ${sh(region)} --subnet-id ${sh(subnetId)}${groupIds.length ? ` --security-group-ids ${groupIds.map(sh).join(' ')}` : ''}`,
    terraform: [`resource "aws_ec2_instance_connect_endpoint" "${tfName(subnetId)}" {`, `  subnet_id          = ${hcl(subnetId)}`, `  security_group_ids = [${groupIds.map(hcl).join(', ')}]`, '}'].join('\n'),
  };
}

export function naclFix(region: string, aclId: string, egress: boolean, cidr: string, from: number, to: number, ruleNumber: number): DoctorFix {
  return {
    cli: `aws ec2 create-network-acl-entry --region ${sh(region)} --network-acl-id ${sh(aclId)} --rule-number ${ruleNumber} ${egress ? '--egress' : '--ingress'} --protocol tcp --port-range From=${from},To=${to} --cidr-block ${sh(cidr)} --rule-action allow`,
    terraform: [
      `resource "aws_network_acl_rule" "ssh_${egress ? 'out' : 'in'}_${tfName(aclId)}" {`,
      `  network_acl_id = ${hcl(aclId)}`,
      `  rule_number    = ${ruleNumber}`,
      `  egress         = ${egress}`,
      '  protocol       = "tcp"',
      '  rule_action    = "allow"',
      `  cidr_block     = ${hcl(cidr)}`,
      `  from_port      = ${from}`,
      `  to_port        = ${to}`,
      '}',
    ].join('\n'),
  };
}

export function packageFix(region: string, instanceId: string): DoctorFix {
  const script = 'sudo dnf install -y ec2-instance-connect || sudo yum install -y ec2-instance-connect || (sudo apt-get update && sudo apt-get install -y ec2-instance-connect)';
  return {
    cli: `aws ssm send-command --region ${sh(region)} --instance-ids ${sh(instanceId)} --document-name AWS-RunShellScript --parameters ${sh(`commands=["${script}"]`)}`,
    terraform: ['resource "aws_instance" "<name>" {', '  # …', `  user_data = <<-EOT`, '    #!/bin/sh', `    ${script}`, '  EOT', '}'].join('\n'),
  };
}

export function creditsFix(region: string, instanceId: string): DoctorFix {
  return {
    cli: `aws ec2 modify-instance-credit-specification --region ${sh(region)} --instance-credit-specifications ${sh(`InstanceId=${instanceId},CpuCredits=unlimited`)}`,
    terraform: ['resource "aws_instance" "<name>" {', '  # …', '  credit_specification {', '    cpu_credits = "unlimited"', '  }', '}'].join('\n'),
  };
}

export function cpuFix(region: string, instanceId: string): DoctorFix {
  return {
    cli: `aws ec2 describe-instances --region ${sh(region)} --instance-ids ${sh(instanceId)} --query 'Reservations[].Instances[].InstanceType'  # then stop, modify-instance-attribute --instance-type, start`,
    terraform: ['resource "aws_instance" "<name>" {', '  # a larger type, or find what keeps the CPU busy', '  instance_type = "<larger type>"', '}'].join('\n'),
  };
}
