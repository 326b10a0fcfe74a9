// The graphql-http server audit (https://github.com/graphql/graphql-http) against
// the URL given: prints every audit that is not "ok", a summary, and fails unless
// every audit passed (no errors, no warnings).
import { auditServer } from 'graphql-http';
const url = process.argv[2];
const results = await auditServer({ url });
const count = (status) => results.filter((r) => r.status === status).length;
for (const r of results) {
  if (r.status !== 'ok') console.log(`${r.status.toUpperCase()} ${r.id} ${r.name}: ${r.reason}`);
}
console.log(`${results.length} audits: ${count('ok')} ok, ${count('warn')} warnings, ${count('error')} errors`);
process.exit(count('ok') === results.length ? 0 : 1);
