import jsep from 'jsep';
import { ConnectorError } from '../shared/errors.js';

/**
 * A small, safe formula language with iPaaS.com's helper names. Parsed by jsep
 * into an AST and evaluated by walking it: no code is ever executed, only the
 * whitelisted helpers below can be called.
 */
type Node = jsep.Expression;

export interface FormulaScope {
  /** Value of an identifier such as FirstName or ResponseId. */
  field(name: string): unknown;
  /** Custom field values by name, for GetCustomFieldValue(CustomFields, "Name"). */
  customFields: Record<string, string>;
  now(): Date;
}

export interface CompiledFormula {
  source: string;
  ast: Node;
  /** Plain identifiers the formula reads (fields). */
  fields: string[];
  /** Names passed to GetCustomFieldValue. */
  customFields: string[];
}

const isEmpty = (v: unknown) => v == null || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0);
const text = (v: unknown): string => (v == null ? '' : Array.isArray(v) ? v.join(', ') : v instanceof Date ? v.toISOString() : String(v));

// Null prototype: names like `constructor` must not resolve to Object's own members.
const HELPERS: Record<string, (scope: FormulaScope, args: unknown[]) => unknown> = Object.assign(Object.create(null), {
  GetCustomFieldValue: (scope, [, name]) => {
    const wanted = text(name).toLowerCase();
    const hit = Object.entries(scope.customFields).find(([k]) => k.toLowerCase() === wanted);
    return hit ? hit[1] : null;
  },
  IsEmpty: (_s, [v]) => isEmpty(v),
  Coalesce: (_s, args) => args.find((a) => !isEmpty(a)) ?? null,
  Truncate: (_s, [v, n]) => {
    const s = text(v);
    const max = Number(n);
    return Number.isFinite(max) && max >= 0 ? [...s].slice(0, max).join('') : s;
  },
  Concat: (_s, args) => args.map(text).join(''),
  Upper: (_s, [v]) => text(v).toUpperCase(),
  Lower: (_s, [v]) => text(v).toLowerCase(),
  Trim: (_s, [v]) => text(v).trim(),
  Now: (scope) => scope.now(),
  Today: (scope: FormulaScope) => scope.now().toISOString().slice(0, 10),
} satisfies Record<string, (scope: FormulaScope, args: unknown[]) => unknown>);
export const FORMULA_HELPERS = Object.keys(HELPERS);

const CUSTOM_FIELDS_IDENT = 'CustomFields';

function fail(source: string, why: string): never {
  throw new ConnectorError('INVALID_INPUT', `Formula \`${source}\` is invalid: ${why}`, {
    fix: `Use fields, string/number literals, + - * / == != < > && || ! ?: and the helpers ${FORMULA_HELPERS.join(', ')}.`,
  });
}

export function compileFormula(source: string): CompiledFormula {
  let ast: Node;
  try {
    ast = jsep(source);
  } catch (err) {
    fail(source, (err as Error).message);
  }
  const fields = new Set<string>();
  const customFields = new Set<string>();
  const visit = (n: Node): void => {
    switch (n.type) {
      case 'Literal':
        return;
      case 'Identifier':
        if (n.name !== CUSTOM_FIELDS_IDENT) fields.add(n.name as string);
        return;
      case 'CallExpression': {
        const callee = n.callee as Node;
        const args = n.arguments as Node[];
        if (callee.type !== 'Identifier' || !Object.hasOwn(HELPERS, callee.name as string)) fail(source, `unknown function ${callee.type === 'Identifier' ? String(callee.name) : 'expression'}`);
        if (callee.name === 'GetCustomFieldValue') {
          const nameArg = args[1];
          if (args.length !== 2 || nameArg?.type !== 'Literal' || typeof nameArg.value !== 'string') fail(source, 'GetCustomFieldValue takes (CustomFields, "Field Name")');
          customFields.add(nameArg.value as string);
          return;
        }
        args.forEach(visit);
        return;
      }
      case 'UnaryExpression':
        if (!['!', '-', '+'].includes(n.operator as string)) fail(source, `operator ${String(n.operator)} is not allowed`);
        visit(n.argument as Node);
        return;
      case 'BinaryExpression':
        if (!['+', '-', '*', '/', '==', '!=', '===', '!==', '<', '>', '<=', '>=', '&&', '||'].includes(n.operator as string)) fail(source, `operator ${String(n.operator)} is not allowed`);
        visit(n.left as Node);
        visit(n.right as Node);
        return;
      case 'ConditionalExpression':
        visit(n.test as Node);
        visit(n.consequent as Node);
        visit(n.alternate as Node);
        return;
      default:
        fail(source, `${n.type} is not allowed`);
    }
  };
  visit(ast);
  return { source, ast, fields: [...fields], customFields: [...customFields] };
}

function evalNode(n: Node, scope: FormulaScope): unknown {
  switch (n.type) {
    case 'Literal':
      return n.value;
    case 'Identifier':
      return n.name === CUSTOM_FIELDS_IDENT ? scope.customFields : scope.field(n.name as string);
    case 'CallExpression': {
      const name = (n.callee as Node).name as string;
      return HELPERS[name]!(scope, (n.arguments as Node[]).map((a) => evalNode(a, scope)));
    }
    case 'UnaryExpression': {
      const v = evalNode(n.argument as Node, scope);
      return n.operator === '!' ? !v : n.operator === '-' ? -Number(v) : Number(v);
    }
    case 'BinaryExpression': {
      const op = n.operator as string;
      if (op === '&&') return evalNode(n.left as Node, scope) && evalNode(n.right as Node, scope);
      if (op === '||') return evalNode(n.left as Node, scope) || evalNode(n.right as Node, scope);
      const l = evalNode(n.left as Node, scope);
      const r = evalNode(n.right as Node, scope);
      switch (op) {
        case '+':
          return typeof l === 'number' && typeof r === 'number' ? l + r : text(l) + text(r);
        case '-': return Number(l) - Number(r);
        case '*': return Number(l) * Number(r);
        case '/': return Number(l) / Number(r);
        case '==': case '===': return text(l) === text(r);
        case '!=': case '!==': return text(l) !== text(r);
        case '<': return (l as number) < (r as number);
        case '>': return (l as number) > (r as number);
        case '<=': return (l as number) <= (r as number);
        case '>=': return (l as number) >= (r as number);
      }
      return undefined;
    }
    case 'ConditionalExpression':
      return evalNode(n.test as Node, scope) ? evalNode(n.consequent as Node, scope) : evalNode(n.alternate as Node, scope);
    default:
      return undefined;
  }
}

export function evaluateFormula(formula: CompiledFormula, scope: FormulaScope): unknown {
  return evalNode(formula.ast, scope);
}
