<?php
// A merchant's application talking to `paybridge serve` with PHP's curl, the
// stack the providers' own documents show: a deposit paid, a payout settled,
// statuses read, an idempotent retry, and an ambiguous answer handled as the
// service asks (reconcile, never resend).
//
//   PAYBRIDGE_URL=http://127.0.0.1:8080 PAYBRIDGE_KEY=... SANDBOX_URL=http://127.0.0.1:7878 \
//     php examples/serve/client.php
//
// Exits 0 when every step did what the API promises, 1 otherwise.

$api = getenv('PAYBRIDGE_URL') ?: 'http://127.0.0.1:8080';
$key = getenv('PAYBRIDGE_KEY') ?: '';
$sandbox = getenv('SANDBOX_URL') ?: 'http://127.0.0.1:7878';
$run = getenv('RUN_ID') ?: (string) time();

$passed = 0;
$failed = 0;
function check(string $what, bool $ok, $detail = null): void
{
    global $passed, $failed;
    if ($ok) {
        $passed++;
        echo "ok   $what\n";
    } else {
        $failed++;
        echo "FAIL $what: " . json_encode($detail) . "\n";
    }
}

/** One call to the service: its status, its JSON body and its headers (lower case). */
function call(string $method, string $path, ?array $body = null, ?string $idempotencyKey = null): array
{
    global $api, $key;
    $headers = ["Authorization: Bearer $key"];
    $curl = curl_init($api . $path);
    curl_setopt($curl, CURLOPT_CUSTOMREQUEST, $method);
    curl_setopt($curl, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($curl, CURLOPT_TIMEOUT, 90);
    // Never follow a redirect with the key in the headers.
    curl_setopt($curl, CURLOPT_FOLLOWLOCATION, false);
    if ($body !== null) {
        $headers[] = 'Content-Type: application/json';
        curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode($body));
    }
    if ($idempotencyKey !== null) {
        $headers[] = "Idempotency-Key: $idempotencyKey";
    }
    curl_setopt($curl, CURLOPT_HTTPHEADER, $headers);
    $received = [];
    curl_setopt($curl, CURLOPT_HEADERFUNCTION, function ($curl, $line) use (&$received) {
        $parts = explode(':', $line, 2);
        if (count($parts) === 2) {
            $received[strtolower(trim($parts[0]))] = trim($parts[1]);
        }
        return strlen($line);
    });
    $text = curl_exec($curl);
    if ($text === false) {
        // No answer: for a POST the outcome is open; read the order before doing anything else.
        return ['status' => 0, 'body' => ['transport' => curl_error($curl)], 'headers' => []];
    }
    $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    curl_close($curl);
    $json = json_decode($text, true);
    return ['status' => $status, 'body' => is_array($json) ? $json : ['unreadable' => $text], 'headers' => $received];
}

/** What the sandbox's operator does: settle an order as the provider would. */
function settle(string $kind, string $orderId, string $outcome): int
{
    global $sandbox;
    $curl = curl_init("$sandbox/vpay88/_sandbox/$kind/$orderId/settle");
    curl_setopt($curl, CURLOPT_POST, true);
    curl_setopt($curl, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($curl, CURLOPT_POSTFIELDS, http_build_query(['outcome' => $outcome]));
    curl_exec($curl);
    $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    curl_close($curl);
    return $status;
}

function faults(array $rules): void
{
    global $sandbox;
    $curl = curl_init("$sandbox/_sandbox/faults");
    curl_setopt($curl, CURLOPT_POST, true);
    curl_setopt($curl, CURLOPT_RETURNTRANSFER, true);
    curl_setopt($curl, CURLOPT_HTTPHEADER, ['Content-Type: application/json']);
    curl_setopt($curl, CURLOPT_POSTFIELDS, json_encode(['rules' => $rules]));
    curl_exec($curl);
    curl_close($curl);
}

/** Reads an order until it reaches $want (its callback arrives on its own time). */
function wait_for(string $kind, string $orderId, string $want): array
{
    $last = [];
    for ($i = 0; $i < 100; $i++) {
        $last = call('GET', "/v1/$kind/$orderId");
        if (($last['body']['status'] ?? null) === $want) {
            return $last;
        }
        usleep(100000);
    }
    return $last;
}

$deposit = [
    'order_id' => "PHP-D-$run",
    'amount' => '150.00', // a decimal string: never a float
    'currency' => 'MYR',
    'customer' => ['name' => 'Aminah', 'email' => 'aminah@example.com', 'phone' => '60123456789'],
];

// A deposit, its retry under the same key, and a different body under that key.
$created = call('POST', '/v1/deposits', $deposit, "dep-$run");
check('deposit created: 201 with a payment page', $created['status'] === 201 && !empty($created['body']['payment_url']), $created);
$again = call('POST', '/v1/deposits', $deposit, "dep-$run");
check(
    'the same key and body answer the first answer again',
    $again['status'] === 201 && ($again['headers']['idempotent-replayed'] ?? '') === 'true' && $again['body'] == $created['body'],
    $again
);
$changed = call('POST', '/v1/deposits', array_merge($deposit, ['amount' => '151.00']), "dep-$run");
check(
    'another body under the same key is refused',
    $changed['status'] === 422 && ($changed['body']['error']['kind'] ?? '') === 'idempotency_key_reused',
    $changed
);

// The payer pays; the provider's callback reaches the service, verified and confirmed.
check('the sandbox settles the deposit', settle('deposits', $deposit['order_id'], 'completed') < 300);
$paid = wait_for('deposits', $deposit['order_id'], 'completed');
check('the deposit reads completed', ($paid['body']['status'] ?? '') === 'completed', $paid);

// A payout, settled by the provider.
$payout = [
    'order_id' => "PHP-P-$run",
    'amount' => '80.00',
    'currency' => 'MYR',
    'bank_id' => '101',
    'holder_name' => 'Aminah binti Ali',
    'account_no' => '1234567890',
];
$sent = call('POST', '/v1/payouts', $payout, "pay-$run");
check('payout accepted: 201', $sent['status'] === 201 && ($sent['body']['kind'] ?? '') === 'payout', $sent);
check('the sandbox settles the payout', settle('withdrawals', $payout['order_id'], 'completed') < 300);
$settled = wait_for('payouts', $payout['order_id'], 'completed');
check('the payout reads completed', ($settled['body']['status'] ?? '') === 'completed', $settled);

// The provider takes a payout and its answer is lost, and its status query
// fails too: the outcome is open. The service says so (202, unknown); the
// caller reconciles by reading it again later and never resends under a new id.
faults([
    ['provider' => 'vpay88', 'endpoint' => 'withdraw_orders', 'kind' => 'drop_after_commit', 'percent' => 100],
    ['provider' => 'vpay88', 'endpoint' => 'check_withdraw_status', 'kind' => 'error5xx', 'percent' => 100],
]);
$lost = array_merge($payout, ['order_id' => "PHP-A-$run"]);
$open = call('POST', '/v1/payouts', $lost, "lost-$run");
faults([]);
$kind = $open['body']['error']['kind'] ?? ($open['body']['kind'] ?? '');
check(
    'a lost answer is 202 unknown, kind ambiguous',
    $open['status'] === 202 && ($open['body']['status'] ?? '') === 'unknown' && $kind === 'ambiguous',
    $open
);
$resolved = call('GET', "/v1/payouts/{$lost['order_id']}?refresh=true");
check(
    'asked again, the provider\'s answer decides it',
    $resolved['status'] === 200 && ($resolved['body']['status'] ?? 'unknown') !== 'unknown',
    $resolved
);

echo "$passed passed, $failed failed\n";
exit($failed === 0 ? 0 : 1);
