// Writes the docs' TypeScript files and GraphQL operations (README.md and
// docs/*.md) into a scratch project: each ```ts block whose first line is
// `// <path>` becomes that file, and each ```graphql block becomes
// src/operations/doc-<n>.graphql.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const [root, work] = process.argv.slice(2);
const pages = readdirSync(join(root, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .sort()
  .map((name) => join(root, 'docs', name));
const text = [join(root, 'README.md'), ...pages].map((path) => readFileSync(path, 'utf8')).join('\n');
const blocks = [...text.matchAll(/```(\w+)\n([\s\S]*?)```/g)];
let operations = 0;
let files = 0;
for (const [, lang, body] of blocks) {
  if (lang === 'graphql') {
    operations += 1;
    const path = join(work, 'src', 'operations', `doc-${operations}.graphql`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
  } else if (lang === 'ts') {
    const name = body.match(/^\/\/ (\S+\.ts)\n/);
    if (!name) continue;
    const path = join(work, name[1]);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
    files += 1;
  }
}
if (operations < 5 || files < 2) {
  console.error(`docs: found ${operations} operations and ${files} TypeScript files`);
  process.exit(1);
}
