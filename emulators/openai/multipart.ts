/**
 * A minimal multipart/form-data parser (RFC 7578) for POST /v1/files: enough for what the openai SDK
 * (undici FormData) and curl send. Works on the whole buffered body; no streaming.
 */

export interface MultipartPart {
  /** The form field name (Content-Disposition name). */
  name: string;
  /** Present for file parts (Content-Disposition filename). */
  filename?: string;
  contentType?: string;
  data: Buffer;
}

/** The boundary of a multipart/form-data Content-Type, or null when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | null {
  if (!contentType || !/^multipart\/form-data\b/i.test(contentType.trim())) return null;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2] ?? null;
}

function dispositionParam(header: string, param: string): string | undefined {
  const re = new RegExp(`;\\s*${param}\\*?=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, 'i');
  const m = re.exec(header);
  if (!m) return undefined;
  const quoted = m[1];
  if (quoted !== undefined) return quoted.replace(/\\(.)/g, '$1');
  const raw = (m[2] ?? '').trim();
  // RFC 5987 ext-value (filename*=UTF-8''name)
  const ext = /^[^']*'[^']*'(.*)$/.exec(raw);
  if (ext?.[1] !== undefined) {
    try {
      return decodeURIComponent(ext[1]);
    } catch {
      return ext[1];
    }
  }
  return raw;
}

/** Splits a multipart body into parts. Throws an Error with a readable message when it is malformed. */
export function parseMultipart(body: Buffer, boundary: string): MultipartPart[] {
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: MultipartPart[] = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) throw new Error('multipart body has no boundary delimiter');
  for (;;) {
    pos += delimiter.length;
    // "--" after a delimiter closes the body.
    if (body[pos] === 0x2d && body[pos + 1] === 0x2d) break;
    // Skip transport padding and the CRLF that ends the delimiter line.
    while (body[pos] === 0x20 || body[pos] === 0x09) pos += 1;
    if (body[pos] === 0x0d && body[pos + 1] === 0x0a) pos += 2;
    else if (body[pos] === 0x0a) pos += 1;
    else throw new Error('malformed multipart delimiter line');

    const headerEnd = body.indexOf('\r\n\r\n', pos);
    if (headerEnd < 0) throw new Error('multipart part without a header terminator');
    const headers: Record<string, string> = {};
    for (const line of body.subarray(pos, headerEnd).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const dataStart = headerEnd + 4;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), dataStart);
    if (next < 0) throw new Error('multipart part is not terminated by a boundary');
    const disposition = headers['content-disposition'] ?? '';
    const name = dispositionParam(disposition, 'name');
    if (name !== undefined) {
      const part: MultipartPart = { name, data: body.subarray(dataStart, next) };
      const filename = dispositionParam(disposition, 'filename');
      if (filename !== undefined) part.filename = filename;
      const type = headers['content-type'];
      if (type !== undefined) part.contentType = type;
      parts.push(part);
    }
    pos = next + 2;
  }
  return parts;
}
