// Drives Commerce Layer's own SDK (@commercelayer/sdk, pinned in
// package-lock.json) against a pwreset server: the SDK builds
// https://ORG.commercelayer.io/api/…, and its `fetch` option sends each
// request to the local server instead. Usage: node check.mjs BASE INT SC LOG
// (the server's base URL, its test integration and sales-channel keys, and
// the file its development mailer writes the reset links to).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { CommerceLayer } from "@commercelayer/sdk/bundle";

const [base, integrationKey, storefrontKey, log] = process.argv.slice(2);
const local = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : String(input));
  return fetch(base + url.pathname + url.search, init);
};
const client = (accessToken) => CommerceLayer({ organization: "shop", accessToken, fetch: local });
const cl = client(integrationKey);
const storefront = client(storefrontKey);

async function graphql(query) {
  const response = await fetch(`${base}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${integrationKey}` },
    body: JSON.stringify({ query }),
  });
  return response.json();
}
for (const email of ["ada@example.com", "bea@example.com", "cy@example.com", "dee@example.com"]) {
  await graphql(`mutation { createCustomer(input: { email: "${email}" }) { customer { id } } }`);
}

// An integration: create (the token shown once), retrieve with include, list
// with filters, sort and page size, the customer relationship, update, delete.
const created = await cl.customer_password_resets.create({ customer_email: "ada@example.com", reference: "ord-1" });
assert.match(created.id, /^cpr_/);
assert.equal(typeof created.reset_password_token, "string");
assert.equal(created.reference, "ord-1");
const retrieved = await cl.customer_password_resets.retrieve(created.id, { include: ["customer"] });
assert.equal(retrieved.reset_password_token, null, "shown once");
assert.equal(retrieved.customer.email, "ada@example.com");
await cl.customer_password_resets.create({ customer_email: "bea@example.com" });
await cl.customer_password_resets.create({ customer_email: "cy@example.com", reference: "ord-3" });
const filtered = await cl.customer_password_resets.list({
  filters: { reference_start: "ord", created_at_gteq: "2000-01-01T00:00:00Z" },
  sort: { reference: "desc" },
  pageSize: 1,
});
assert.equal(filtered.length, 1);
assert.equal(filtered[0].reference, "ord-3");
assert.equal(filtered.meta.recordCount, 2);
assert.equal(filtered.meta.pageCount, 2);
assert.equal(filtered.hasNextPage(), true);
const second = await cl.customer_password_resets.list({
  filters: { reference_start: "ord" }, sort: { reference: "desc" }, pageSize: 1, pageNumber: 2,
});
assert.equal(second[0].id, created.id);
const customer = await cl.customer_password_resets.customer(created.id);
assert.equal(customer.email, "ada@example.com");
const updated = await cl.customer_password_resets.update({ id: created.id, reference: "ord-2", metadata: { crm: 7 } });
assert.equal(updated.reference, "ord-2");
assert.deepEqual(updated.metadata, { crm: 7 });
const completed = await cl.customer_password_resets.update({
  id: created.id, customer_password: "a brand new passphrase", _reset_password_token: created.reset_password_token,
});
assert.notEqual(completed.reset_password_at, null);
await assert.rejects(
  cl.customer_password_resets.update({
    id: created.id, customer_password: "another passphrase", _reset_password_token: created.reset_password_token,
  }),
  (error) => error.status === 422 && error.errors[0].code === "TOKEN_ALREADY_USED",
);
await cl.customer_password_resets.delete(created.id);
await assert.rejects(cl.customer_password_resets.retrieve(created.id), (error) => error.status === 404);

// A storefront: the same answer for a known and an unknown email, never a
// token; the reset link arrives (here, in the development mailer's log), and
// the storefront completes the reset with it.
const known = await storefront.customer_password_resets.create({ customer_email: "dee@example.com" });
const unknown = await storefront.customer_password_resets.create({ customer_email: "nobody@example.com" });
assert.equal(known.reset_password_token, null);
assert.deepEqual(Object.keys(known).sort(), Object.keys(unknown).sort());
// The link carries the reset's id and its token (TEST_RESET_URL holds {id}).
let link;
for (let i = 0; i < 100 && !link; i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  link = readFileSync(log, "utf8").match(/reset link for dee@example\.com is (\S+)/)?.[1];
}
assert.ok(link, "the reset email was written to the log");
const params = new URL(link).searchParams;
const [id, token] = [params.get("id"), params.get("token")];
assert.match(id, /^cpr_/);
const done = await storefront.customer_password_resets.update({
  id, customer_password: "a brand new passphrase", _reset_password_token: token,
});
assert.notEqual(done.reset_password_at, null);
console.log("Commerce Layer's SDK: every call passed");
