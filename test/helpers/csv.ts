/** A strict RFC 4180 reader for tests: quoted fields, doubled quotes, CRLF records; throws on anything else. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  const field = (): string => {
    if (text[i] !== '"') {
      const end = text.slice(i).search(/[,\r]/);
      const v = end === -1 ? text.slice(i) : text.slice(i, i + end);
      if (v.includes('"') || v.includes('\n')) throw new Error(`Unquoted field with a quote or line break at ${i}: ${v}`);
      i += v.length;
      return v;
    }
    let v = '';
    i++;
    for (;;) {
      const q = text.indexOf('"', i);
      if (q === -1) throw new Error('Unterminated quoted field');
      v += text.slice(i, q);
      if (text[q + 1] === '"') {
        v += '"';
        i = q + 2;
      } else {
        i = q + 1;
        return v;
      }
    }
  };
  while (i < text.length) {
    row.push(field());
    if (text[i] === ',') i++;
    else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else if (i < text.length) throw new Error(`Expected , or CRLF at ${i}`);
  }
  if (row.length) throw new Error('The last record has no CRLF');
  return rows;
}
