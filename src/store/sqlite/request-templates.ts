import { createHash } from 'node:crypto';

/**
 * Every request of a mapping repeats the same instructions and answer schema
 * (and the Responses API echoes both back). The sync log keeps them once, in
 * request_templates, and each attempt's documents point at them with a marker;
 * reading an attempt puts them back, so what is shown is exactly what was sent.
 */
const MARK = '$template:';
type Json = Record<string, unknown>;

export interface Compacted {
  request: unknown;
  response: unknown;
  /** Templates this attempt refers to, by key (the store inserts the new ones). */
  templates: Array<{ key: string; json: string }>;
}

const keyOf = (json: string) => createHash('sha256').update(json).digest('base64url').slice(0, 16);
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export class TemplateCompactor {
  /** Static parts seen before: the JSON of a part -> its key (bounded). */
  private readonly known = new Map<string, string>();

  private ref(value: unknown, out: Compacted['templates']): string {
    const json = JSON.stringify(value);
    let key = this.known.get(json);
    if (!key) {
      key = keyOf(json);
      if (this.known.size > 1000) this.known.clear();
      this.known.set(json, key);
    }
    out.push({ key, json });
    return `${MARK}${key}`;
  }

  compact(request: unknown, response: unknown): Compacted {
    const templates: Compacted['templates'] = [];
    if (!isObj(request)) return { request, response, templates };
    const req: Json = { ...request };
    const res: Json | unknown = isObj(response) ? { ...response } : response;
    if (typeof req.instructions === 'string') {
      const instructions = req.instructions;
      req.instructions = this.ref(instructions, templates);
      if (isObj(req.text)) req.text = { ...req.text, format: this.ref(req.text.format, templates) };
      if (isObj(res) && res.instructions === instructions) res.instructions = req.instructions;
      if (isObj(res) && isObj(res.text) && isObj(request.text) && JSON.stringify(res.text.format) === JSON.stringify(request.text.format)) {
        res.text = { ...res.text, format: (req.text as Json).format };
      }
    } else if (Array.isArray(req.messages) && isObj(req.messages[0]) && req.messages[0].role === 'system') {
      req.messages = [{ ...req.messages[0], content: this.ref(req.messages[0].content, templates) }, ...req.messages.slice(1)];
      if (req.response_format !== undefined) req.response_format = this.ref(req.response_format, templates);
    }
    return { request: req, response: res, templates };
  }
}

/** Puts the static parts back into a stored document. */
export function expandTemplates(doc: unknown, lookup: (key: string) => string | undefined): unknown {
  if (typeof doc === 'string' && doc.startsWith(MARK)) {
    const json = lookup(doc.slice(MARK.length));
    return json === undefined ? doc : JSON.parse(json);
  }
  if (Array.isArray(doc)) return doc.map((d) => expandTemplates(d, lookup));
  if (isObj(doc)) {
    const out: Json = {};
    for (const [k, v] of Object.entries(doc)) out[k] = expandTemplates(v, lookup);
    return out;
  }
  return doc;
}
