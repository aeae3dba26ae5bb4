// Verifies deliveries with the Standard Webhooks library for Node: one JSON
// object per input line ({"secret", "headers", "body"}), one line out per
// delivery: "ok", or "fail: why".
const { Webhook } = require("standardwebhooks");
const lines = require("fs").readFileSync(0, "utf8").split("\n").filter(Boolean);
for (const line of lines) {
  const delivery = JSON.parse(line);
  try {
    new Webhook(delivery.secret).verify(delivery.body, delivery.headers);
    console.log("ok");
  } catch (error) {
    console.log(`fail: ${error}`);
  }
}
