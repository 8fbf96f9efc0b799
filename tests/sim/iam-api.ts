// The IAM query API the doctor reads: SimulatePrincipalPolicy (the simulator's own policy
// evaluator, iam.ts, answers it) and GetRole (an SSO role's path). Signed for `iam` in us-east-1.
import { createHash } from 'node:crypto';
import { ACCOUNT_ID } from './fleet';
import { evaluate, type AuthorizationRequest, type PolicyDocument } from './iam';
import { escapeXml } from './xml';
import { ApiError, type Identity, type World } from './state';

export const IAM_NAMESPACE = 'https://iam.amazonaws.com/doc/2010-05-08/';
export const IAM_ACTIONS = ['SimulatePrincipalPolicy', 'GetRole'];

const members = (p: URLSearchParams, prefix: string): string[] => {
  const out: [number, string][] = [];
  for (const [k, v] of p) {
    const m = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.member\\.(\\d+)$`).exec(k);
    if (m) out.push([Number(m[1]), v]);
  }
  return out.sort((a, b) => a[0] - b[0]).map(([, v]) => v);
};

/** The policies of the principal an IAM ARN names: a user with long-term keys, or a role. */
function policiesOf(w: World, arn: string): PolicyDocument[] | undefined {
  const role = w.roles.get(arn);
  if (role) return role.policies;
  return [...w.identities.values()].find((i) => i.arn === arn && i.type === 'IAMUser')?.policies;
}

const roleId = (arn: string) => 'AROA' + createHash('sha256').update(arn).digest('hex').slice(0, 17).toUpperCase();

/** One IAM action's XML answer. */
export function handleIam(w: World, action: string, identity: Identity, p: URLSearchParams, requestId: string): string {
  const wrap = (inner: string) => `<${action}Response xmlns="${IAM_NAMESPACE}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  switch (action) {
    case 'SimulatePrincipalPolicy': {
      const source = p.get('PolicySourceArn') ?? '';
      if (!/^arn:aws:iam::\d{12}:(user|role)\/.+/.test(source)) throw new ApiError('InvalidInput', `ARN ${source} is not valid.`, 400);
      w.authorize(identity, { action: 'iam:SimulatePrincipalPolicy', resource: source });
      const policies = policiesOf(w, source);
      if (!policies) throw new ApiError('NoSuchEntity', `The user or role with ARN ${source} cannot be found.`, 404);
      const actions = members(p, 'ActionNames');
      if (!actions.length) throw new ApiError('ValidationError', "1 validation error detected: Value null at 'actionNames' failed to satisfy constraint: Member must not be null", 400);
      const resources = members(p, 'ResourceArns');
      const context: NonNullable<AuthorizationRequest['context']> = {};
      for (let n = 1; p.has(`ContextEntries.member.${n}.ContextKeyName`); n++) {
        const values = members(p, `ContextEntries.member.${n}.ContextKeyValues`);
        const type = p.get(`ContextEntries.member.${n}.ContextKeyType`) ?? 'string';
        const typed = type.startsWith('numeric') ? values.map(Number) : values;
        context[p.get(`ContextEntries.member.${n}.ContextKeyName`)!] = type.endsWith('List') ? typed : typed[0]!;
      }
      const results = actions.flatMap((a) =>
        (resources.length ? resources : ['*']).map((r) => {
          const d = evaluate(policies, { action: a, resource: r, context });
          return `<member><EvalActionName>${escapeXml(a)}</EvalActionName><EvalResourceName>${escapeXml(r)}</EvalResourceName><EvalDecision>${d === 'allow' ? 'allowed' : d}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`;
        }),
      );
      return wrap(`<IsTruncated>false</IsTruncated><EvaluationResults>${results.join('')}</EvaluationResults>`);
    }
    case 'GetRole': {
      const name = p.get('RoleName') ?? '';
      const arn = [...w.roles.keys()].find((a) => a.split('/').pop() === name);
      w.authorize(identity, { action: 'iam:GetRole', resource: `arn:aws:iam::${ACCOUNT_ID}:role/${name}` });
      if (!arn) throw new ApiError('NoSuchEntity', `The role with name ${name} cannot be found.`, 404);
      const path = arn.slice(arn.indexOf(':role') + 5, arn.length - name.length);
      return wrap(`<Role><Path>${escapeXml(path)}</Path><RoleName>${escapeXml(name)}</RoleName><RoleId>${roleId(arn)}</RoleId><Arn>${escapeXml(arn)}</Arn><CreateDate>2024-01-01T00:00:00Z</CreateDate></Role>`);
    }
  }
  throw new ApiError('InvalidAction', `Could not find operation ${action} for version 2010-05-08`, 400);
}
