// A merchant's application talking to `paybridge serve` with Node's own fetch:
// a deposit paid, a payout settled, statuses read, an idempotent retry, and an
// ambiguous answer handled as the service asks (reconcile, never resend).
//
//   PAYBRIDGE_URL=http://127.0.0.1:8080 PAYBRIDGE_KEY=... SANDBOX_URL=http://127.0.0.1:7878 \
//     node examples/serve/client.mjs
//
// Exits 0 when every step did what the API promises, 1 otherwise.

const api = process.env.PAYBRIDGE_URL ?? "http://127.0.0.1:8080";
const key = process.env.PAYBRIDGE_KEY ?? "";
const sandbox = process.env.SANDBOX_URL ?? "http://127.0.0.1:7878";
const run = process.env.RUN_ID ?? String(Date.now());

let passed = 0;
let failed = 0;
function check(what, ok, detail) {
  if (ok) {
    passed += 1;
    console.log(`ok   ${what}`);
  } else {
    failed += 1;
    console.log(`FAIL ${what}: ${JSON.stringify(detail)}`);
  }
}

/** One call to the service: its status, its JSON body and its headers. */
async function call(method, path, body, idempotencyKey) {
  const headers = { authorization: `Bearer ${key}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (idempotencyKey) headers["idempotency-key"] = idempotencyKey;
  const response = await fetch(api + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = { unreadable: text };
  }
  return { status: response.status, body: json, headers: response.headers };
}

/** What the sandbox's operator does: settle an order as the provider would. */
async function settle(kind, orderId, outcome) {
  const response = await fetch(`${sandbox}/vpay88/_sandbox/${kind}/${orderId}/settle`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ outcome }),
  });
  return response.status;
}

async function faults(rules) {
  await fetch(`${sandbox}/_sandbox/faults`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rules }),
  });
}

/** Reads an order until it reaches `want` (its callback arrives on its own time). */
async function waitFor(kind, orderId, want) {
  let last = null;
  for (let i = 0; i < 100; i += 1) {
    last = await call("GET", `/v1/${kind}/${orderId}`);
    if (last.body.status === want) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}

const deposit = {
  order_id: `NODE-D-${run}`,
  amount: "150.00",
  currency: "MYR",
  customer: { name: "Aminah", email: "aminah@example.com", phone: "60123456789" },
};

// A deposit, its retry under the same key, and a different body under that key.
const created = await call("POST", "/v1/deposits", deposit, `dep-${run}`);
check("deposit created: 201 with a payment page", created.status === 201 && created.body.payment_url, created);
const again = await call("POST", "/v1/deposits", deposit, `dep-${run}`);
check(
  "the same key and body answer the first answer again",
  again.status === 201 &&
    again.headers.get("idempotent-replayed") === "true" &&
    JSON.stringify(again.body) === JSON.stringify(created.body),
  again,
);
const changed = await call("POST", "/v1/deposits", { ...deposit, amount: "151.00" }, `dep-${run}`);
check(
  "another body under the same key is refused",
  changed.status === 422 && changed.body.error?.kind === "idempotency_key_reused",
  changed,
);

// The payer pays; the provider's callback reaches the service, verified and confirmed.
check("the sandbox settles the deposit", (await settle("deposits", deposit.order_id, "completed")) < 300);
const paid = await waitFor("deposits", deposit.order_id, "completed");
check("the deposit reads completed", paid?.body.status === "completed", paid);

// A payout, settled by the provider.
const payout = {
  order_id: `NODE-P-${run}`,
  amount: "80.00",
  currency: "MYR",
  bank_id: "101",
  holder_name: "Aminah binti Ali",
  account_no: "1234567890",
};
const sent = await call("POST", "/v1/payouts", payout, `pay-${run}`);
check("payout accepted: 201", sent.status === 201 && sent.body.kind === "payout", sent);
check("the sandbox settles the payout", (await settle("withdrawals", payout.order_id, "completed")) < 300);
const settled = await waitFor("payouts", payout.order_id, "completed");
check("the payout reads completed", settled?.body.status === "completed", settled);

// The provider takes a payout and its answer is lost, and its status query
// fails too: the outcome is open. The service says so (202, unknown); the
// caller reconciles by reading it again later and never resends under a new id.
await faults([
  { provider: "vpay88", endpoint: "withdraw_orders", kind: "drop_after_commit", percent: 100 },
  { provider: "vpay88", endpoint: "check_withdraw_status", kind: "error5xx", percent: 100 },
]);
const lost = { ...payout, order_id: `NODE-A-${run}` };
const open = await call("POST", "/v1/payouts", lost, `lost-${run}`);
await faults([]);
check(
  "a lost answer is 202 unknown, kind ambiguous",
  open.status === 202 && open.body.status === "unknown" && (open.body.error?.kind ?? open.body.kind) === "ambiguous",
  open,
);
const resolved = await call("GET", `/v1/payouts/${lost.order_id}?refresh=true`);
check(
  "asked again, the provider's answer decides it",
  resolved.status === 200 && resolved.body.status !== "unknown",
  resolved,
);

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
