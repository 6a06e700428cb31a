import { redactDeep } from '../shared/redact.js';

export type Redact = (text: string) => string;

/** What the store writes: text and JSON documents pass the redactor; secrets never reach the database. */
export interface Redaction {
  text(v: string | null | undefined): string | null;
  /** A JSON document as text (null for null/undefined). */
  doc(v: unknown): string | null;
}

export function redaction(redact: Redact): Redaction {
  return {
    text: (v) => (v === null || v === undefined ? null : redact(v)),
    doc: (v) => {
      if (v === undefined || v === null) return null;
      const json = JSON.stringify(v);
      const clean = redact(json);
      if (clean === json) return json;
      // The redactor works on text; a secret that spans JSON syntax could leave text that no longer
      // parses. Then redact each string instead, which always stays valid JSON.
      try {
        JSON.parse(clean);
        return clean;
      } catch {
        return JSON.stringify(redactDeep(v, redact));
      }
    },
  };
}
