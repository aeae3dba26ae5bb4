# Verifies deliveries with the Standard Webhooks library for Python: one JSON
# object per input line ({"secret", "headers", "body"}), one line out per
# delivery: "ok", or "fail: why".
import json
import sys

from standardwebhooks.webhooks import Webhook

for line in sys.stdin:
    delivery = json.loads(line)
    try:
        Webhook(delivery["secret"]).verify(delivery["body"], delivery["headers"])
        print("ok")
    except Exception as error:  # the library raises its own kinds
        print(f"fail: {error!r}")
