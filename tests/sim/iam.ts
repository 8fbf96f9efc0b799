import { BlockList, isIPv4 } from 'node:net';

/** An IAM identity policy as written in JSON (the subset of the grammar Keyless needs). */
export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement | PolicyStatement[];
}
export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, string | number | boolean | (string | number | boolean)[]>>;
}

/** What one API call asks for, as IAM sees it. */
export interface AuthorizationRequest {
  action: string;
  resource: string;
  /** Condition keys present in the request context (absent keys are simply missing). */
  context?: Record<string, string | number | (string | number)[]>;
}

export type Decision = 'allow' | 'implicitDeny' | 'explicitDeny';

const arr = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM wildcard match: `*` any run, `?` one character. */
export function wildcardMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp('^' + pattern.split('').map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&'))).join('') + '$', ignoreCase ? 'is' : 's');
  return re.test(value);
}

function ipMatches(cidr: string, ip: string): boolean {
  const list = new BlockList();
  const [addr, bits] = cidr.split('/');
  const type = isIPv4(addr!) ? 'ipv4' : 'ipv6';
  if (bits === undefined) list.addAddress(addr!, type);
  else list.addSubnet(addr!, Number(bits), type);
  return list.check(ip, isIPv4(ip) ? 'ipv4' : 'ipv6');
}

type Matcher = (policyValue: string, requestValue: string) => boolean;
const BASE_OPERATORS: Record<string, { match: Matcher; negated?: boolean }> = {
  StringEquals: { match: (p, r) => p === r },
  StringNotEquals: { match: (p, r) => p === r, negated: true },
  StringEqualsIgnoreCase: { match: (p, r) => p.toLowerCase() === r.toLowerCase() },
  StringNotEqualsIgnoreCase: { match: (p, r) => p.toLowerCase() === r.toLowerCase(), negated: true },
  StringLike: { match: (p, r) => wildcardMatch(p, r) },
  StringNotLike: { match: (p, r) => wildcardMatch(p, r), negated: true },
  NumericEquals: { match: (p, r) => Number(r) === Number(p) },
  NumericNotEquals: { match: (p, r) => Number(r) === Number(p), negated: true },
  NumericLessThan: { match: (p, r) => Number(r) < Number(p) },
  NumericLessThanEquals: { match: (p, r) => Number(r) <= Number(p) },
  NumericGreaterThan: { match: (p, r) => Number(r) > Number(p) },
  NumericGreaterThanEquals: { match: (p, r) => Number(r) >= Number(p) },
  IpAddress: { match: (p, r) => ipMatches(p, r) },
  NotIpAddress: { match: (p, r) => ipMatches(p, r), negated: true },
  Bool: { match: (p, r) => p.toLowerCase() === r.toLowerCase() },
  ArnEquals: { match: (p, r) => wildcardMatch(p, r) },
  ArnLike: { match: (p, r) => wildcardMatch(p, r) },
  ArnNotEquals: { match: (p, r) => wildcardMatch(p, r), negated: true },
  ArnNotLike: { match: (p, r) => wildcardMatch(p, r), negated: true },
};

/** One condition block entry, e.g. `StringEquals: {"ec2:osuser": ["ec2-user", "ubuntu"]}`. */
function conditionHolds(operator: string, key: string, policyValues: string[], context: AuthorizationRequest['context']): boolean {
  let op = operator;
  let set: 'any' | 'all' | undefined;
  if (op.startsWith('ForAnyValue:')) {
    set = 'any';
    op = op.slice(12);
  } else if (op.startsWith('ForAllValues:')) {
    set = 'all';
    op = op.slice(13);
  }
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -8);
  if (op === 'Null') {
    const present = contextValue(context, key) !== undefined;
    return policyValues.some((v) => (v.toLowerCase() === 'true') !== present);
  }
  const base = BASE_OPERATORS[op];
  if (!base) throw new Error(`Unsupported IAM condition operator ${operator}`);
  const raw = contextValue(context, key);
  if (raw === undefined) return ifExists || !!base.negated || set === 'all';
  const values = arr(raw).map(String);
  const one = (r: string) => {
    const any = policyValues.some((p) => base.match(p, r));
    return base.negated ? !any : any;
  };
  return set === 'all' ? values.every(one) : values.some(one);
}

function contextValue(context: AuthorizationRequest['context'], key: string) {
  if (!context) return undefined;
  const hit = Object.keys(context).find((k) => k.toLowerCase() === key.toLowerCase());
  return hit === undefined ? undefined : context[hit];
}

function statementApplies(st: PolicyStatement, req: AuthorizationRequest): boolean {
  const actionHit = (list: string[]) => list.some((a) => wildcardMatch(a, req.action, true));
  if (st.Action !== undefined && !actionHit(arr(st.Action))) return false;
  if (st.NotAction !== undefined && actionHit(arr(st.NotAction))) return false;
  const resourceHit = (list: string[]) => list.some((r) => wildcardMatch(r, req.resource));
  if (st.Resource !== undefined && !resourceHit(arr(st.Resource))) return false;
  if (st.NotResource !== undefined && resourceHit(arr(st.NotResource))) return false;
  for (const [operator, entries] of Object.entries(st.Condition ?? {})) {
    for (const [key, values] of Object.entries(entries)) {
      if (!conditionHolds(operator, key, arr(values).map(String), req.context)) return false;
    }
  }
  return true;
}

/** Identity-policy evaluation: an explicit Deny wins, then any Allow, else the implicit deny. */
export function evaluate(policies: PolicyDocument[], req: AuthorizationRequest): Decision {
  let allowed = false;
  for (const p of policies) {
    for (const st of arr(p.Statement)) {
      if (!statementApplies(st, req)) continue;
      if (st.Effect === 'Deny') return 'explicitDeny';
      allowed = true;
    }
  }
  return allowed ? 'allow' : 'implicitDeny';
}

/** The words AWS uses when it refuses, e.g. in AccessDeniedException and UnauthorizedOperation. */
export function denialMessage(principalArn: string, req: AuthorizationRequest, decision: Exclude<Decision, 'allow'>): string {
  const on = req.resource === '*' ? '' : ` on resource: ${req.resource}`;
  const why = decision === 'explicitDeny' ? 'with an explicit deny in an identity-based policy' : `because no identity-based policy allows the ${req.action} action`;
  return `User: ${principalArn} is not authorized to perform: ${req.action}${on} ${why}`;
}

/** Everything allowed: the simulator's default administrator. */
export const ADMIN_POLICY: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
