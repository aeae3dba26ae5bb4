//! Refusals: ONE-PUNCH's document writes none, so each is kept as it came.

use paybridge_core::refusal::RefusalTable;
use paybridge_core::Error;
use serde_json::Value;

use crate::PROVIDER;

/// ONE-PUNCH's document writes no refusal, so none is read for what it says:
/// a create it refuses is ambiguous (ONE-PUNCH cannot be asked by the merchant's
/// order id), and a refused status query says nothing about the order. The
/// message is kept verbatim, whatever the HTTP status.
pub const REFUSALS: RefusalTable = RefusalTable::EMPTY;

/// An answer outside 2xx whose body is a refusal (`{"status":false,"message":...}`,
/// as the provider's Express template answers errors with HTTP 500) read as
/// that refusal, its message kept, exactly as a refusal in a 2xx or 4xx answer
/// is read; any other error is left as it is.
pub fn refusal_in_status(operation: paybridge_core::Operation, err: Error) -> Error {
    let Error::HttpStatus { status, body, .. } = &err else {
        return err;
    };
    let Ok(Value::Object(answer)) = serde_json::from_str::<Value>(body) else {
        return err;
    };
    let refused = answer.get("status").and_then(Value::as_bool) == Some(false);
    match (refused, answer.get("message").and_then(Value::as_str)) {
        (true, Some(message)) => {
            let read = REFUSALS.read(operation, *status, message);
            Error::Provider {
                provider: PROVIDER,
                operation,
                kind: read.kind,
                message: message.to_owned(),
                documented: read.documented,
            }
        }
        _ => err,
    }
}
