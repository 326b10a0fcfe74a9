// A small client written against the types openapi-typescript generates from
// /api/openapi.json: it must type-check under --strict.
import type { components, paths } from "./generated/api";

type Reset = components["schemas"]["CustomerPasswordReset"];
type ListQuery = NonNullable<paths["/api/customer_password_resets"]["get"]["parameters"]["query"]>;
type List = paths["/api/customer_password_resets"]["get"]["responses"][200]["content"]["application/vnd.api+json"];
type Create = paths["/api/customer_password_resets"]["post"]["requestBody"]["content"]["application/vnd.api+json"];
type Created = paths["/api/customer_password_resets"]["post"]["responses"][201]["content"]["application/vnd.api+json"];
type Failure = components["schemas"]["Errors"];

const media = "application/vnd.api+json";

export async function pendingResets(base: string, key: string, email: string): Promise<Reset[]> {
  const query: ListQuery = { "filter[q][customer_email_eq]": email, "page[size]": 25, sort: "-created_at" };
  const url = new URL(`${base}/api/customer_password_resets`);
  for (const [name, value] of Object.entries(query)) url.searchParams.set(name, String(value));
  const response = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: media } });
  const list = (await response.json()) as List;
  return list.data.filter((reset) => reset.attributes?.status === "pending");
}

export async function startReset(base: string, key: string, email: string): Promise<string | Failure> {
  const body: Create = { data: { type: "customer_password_resets", attributes: { customer_email: email, delivery: "code" } } };
  const response = await fetch(`${base}/api/customer_password_resets`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, accept: media, "content-type": media },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) return (await response.json()) as Failure;
  const created = (await response.json()) as Created;
  return created.data.attributes?.reset_password_token ?? "";
}
