/** Writes config.schema.json (editor completion for ipaas-openai.yaml); a test keeps it current. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configJsonSchema } from '../src/config/load-config.js';

const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../config.schema.json');
writeFileSync(file, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
console.log(`wrote ${file}`);
