//! The OpenAPI 3.1 document of the control-plane API, built from [`crate::api::ROUTES`] (the
//! table the router is built from, so the two cannot differ) and the schemas below. Each
//! operation names the lowest role that may call it in `x-cutover-role` and its description.

use serde_json::{Map, Value, json};

use crate::api::ROUTES;

/// The document `GET /api/v1/openapi.json` serves.
pub fn document() -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let mut operation = json!({
            "summary": route.summary,
            "description": format!("Needs a bearer token with the {} role or higher.", route.role),
            "operationId": operation_id(route.method.as_str(), route.path),
            "x-cutover-role": route.role.as_str(),
            "security": [{ "bearer": [] }],
            "responses": {
                "200": {
                    "description": "OK",
                    "content": { "application/json": {
                        "schema": { "$ref": format!("#/components/schemas/{}", route.schema) }
                    } }
                },
                "401": { "$ref": "#/components/responses/Unauthorized" },
                "403": { "$ref": "#/components/responses/Forbidden" },
            },
        });
        let mut parameters = Vec::new();
        if route.path.contains("{id}") {
            parameters.push(json!({
                "name": "id", "in": "path", "required": true,
                "schema": { "type": "integer", "format": "int64" }
            }));
            if let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                responses.insert(
                    "404".to_owned(),
                    json!({ "$ref": "#/components/responses/NotFound" }),
                );
            }
        }
        if route.path.contains("{wave}") {
            parameters.push(json!({
                "name": "wave", "in": "path", "required": true,
                "description": "The wave's name, or its number in the plan (1 for the first).",
                "schema": { "type": "string" }
            }));
            if let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            {
                responses.insert(
                    "404".to_owned(),
                    json!({ "$ref": "#/components/responses/NotFound" }),
                );
                if route.method == axum::http::Method::POST {
                    responses.insert(
                        "409".to_owned(),
                        json!({ "$ref": "#/components/responses/WrongPhase" }),
                    );
                }
                if route.path.ends_with("/sign-off") {
                    responses.insert(
                        "400".to_owned(),
                        json!({ "$ref": "#/components/responses/BadRequest" }),
                    );
                    responses.insert(
                        "422".to_owned(),
                        json!({ "$ref": "#/components/responses/PersonRefused" }),
                    );
                }
            }
        }
        if route.path.ends_with("/sign-off")
            && let Value::Object(fields) = &mut operation
        {
            fields.insert(
                "requestBody".to_owned(),
                json!({
                    "required": true,
                    "content": { "application/json": { "schema": {
                        "type": "object", "required": ["as"],
                        "properties": { "as": { "type": "string",
                            "description": "A person's id in the plan's [people]: operator role or higher, named by the wave's gates.sign_off." } }
                    } } }
                }),
            );
        }
        if route.path.ends_with("/conflicts") || route.path.ends_with("/deadletters") {
            parameters.push(json!({
                "name": "after", "in": "query", "required": false,
                "description": "Only ids above this one (the previous page's `next_after`).",
                "schema": { "type": "integer", "format": "int64" }
            }));
            parameters.push(json!({
                "name": "limit", "in": "query", "required": false,
                "description": "At most this many (default 100, at most 1000).",
                "schema": { "type": "integer", "minimum": 1, "maximum": 1000 }
            }));
        }
        if route.path.ends_with("/deadletters") {
            parameters.push(json!({
                "name": "kind", "in": "query", "required": false,
                "schema": { "type": "string" }, "description": "Only this record kind (`ticket`, `contact`, …)."
            }));
            parameters.push(json!({
                "name": "side", "in": "query", "required": false,
                "schema": { "type": "string", "enum": ["old", "new"] }, "description": "Only letters read from this side."
            }));
        }
        if !parameters.is_empty()
            && let Value::Object(fields) = &mut operation
        {
            fields.insert("parameters".to_owned(), Value::Array(parameters));
        }
        let item = paths
            .entry(route.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(methods) = item {
            methods.insert(route.method.as_str().to_lowercase(), operation);
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "cutover control-plane API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Served by `cutover serve`. Every route wants `Authorization: Bearer TOKEN` \
                (made with `cutover token create --role viewer|operator|admin --name NAME`). \
                Roles are ordered: viewer reads, operator also acts, admin may do everything. \
                A missing, malformed, unknown or revoked token gets 401; a role too low, 403."
        },
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "responses": {
                "Unauthorized": error_response("No token, a malformed one, or one unknown or revoked (with `WWW-Authenticate: Bearer`)."),
                "Forbidden": error_response("The token's role is below the route's."),
                "NotFound": error_response("No such record (or no such wave)."),
                "WrongPhase": error_response("The wave is not in a phase this step applies to (pause: new; resume: paused; sign-off: old)."),
                "BadRequest": error_response("The body is not `{\"as\": \"PERSON\"}`."),
                "PersonRefused": error_response("The person is not in the plan's [people], has a role below operator, or is not named by the wave's gates."),
            },
            "schemas": schemas(),
        },
    })
}

/// `getApiV1ConflictsId`-style names, unique per method and path.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_lowercase();
    for part in path.split(['/', '.', '{', '}']).filter(|p| !p.is_empty()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn schemas() -> Value {
    let time = json!({ "type": "string", "format": "date-time" });
    let maybe_time = json!({ "type": ["string", "null"], "format": "date-time" });
    let side = json!({ "type": "string", "enum": ["old", "new"] });
    let phase = json!({ "type": "string", "enum": ["old", "holding", "new", "paused"] });
    let next = json!({ "type": ["integer", "null"], "description": "Pass as `after` for the next page; null on the last." });
    json!({
        "Error": {
            "type": "object", "required": ["error"],
            "properties": { "error": { "type": "string" } }
        },
        "OpenApi": { "type": "object", "description": "An OpenAPI 3.1 document." },
        "Waves": {
            "type": "object", "required": ["generation", "waves"],
            "properties": {
                "generation": { "type": "integer", "description": "Raised by one at every change of routing." },
                "waves": { "type": "array", "items": { "$ref": "#/components/schemas/Wave" } } }
        },
        "Wave": {
            "type": "object",
            "required": ["name", "phase", "phase_since", "channels", "groups", "agents", "customers_percent", "window", "gates"],
            "properties": {
                "name": { "type": "string" },
                "phase": phase,
                "phase_since": maybe_time,
                "channels": { "type": "array", "items": { "type": "string" } },
                "groups": { "description": "\"all\" or the group names.", "oneOf": [
                    { "type": "string", "enum": ["all"] },
                    { "type": "array", "items": { "type": "string" } } ] },
                "agents": { "description": "\"all\", \"by_group\" or the agents' e-mail addresses.", "oneOf": [
                    { "type": "string", "enum": ["all", "by_group"] },
                    { "type": "array", "items": { "type": "string" } } ] },
                "customers_percent": { "type": "number", "minimum": 0, "maximum": 100 },
                "window": { "type": ["object", "null"], "properties": {
                    "from": { "type": "string" }, "to": { "type": "string" }, "tz": { "type": "string" } } },
                "gates": { "$ref": "#/components/schemas/Gates" }
            }
        },
        "Gates": {
            "type": "object",
            "required": ["verify_clean", "max_sync_lag", "kpis_within_bounds", "rollback_drill", "sign_off"],
            "properties": {
                "verify_clean": { "type": "boolean" },
                "max_sync_lag": { "type": ["string", "null"], "description": "A span, e.g. `30s`." },
                "kpis_within_bounds": { "type": ["string", "null"] },
                "rollback_drill": { "type": "boolean" },
                "sign_off": { "type": "array", "items": { "type": "string" },
                    "description": "The people (ids in the plan's [people]) who must sign off." }
            }
        },
        "GateReport": {
            "type": "object",
            "required": ["wave", "number", "phase", "phase_since", "evaluated_at", "plan_digest", "criteria", "sign_offs"],
            "properties": {
                "wave": { "type": "string" }, "number": { "type": "integer", "minimum": 1 },
                "phase": phase, "phase_since": maybe_time, "evaluated_at": time,
                "plan_digest": { "type": "string", "description": "BLAKE3 of the plan file the gates were evaluated with." },
                "criteria": { "type": "array", "items": {
                    "type": "object", "required": ["name", "met", "detail", "values", "next"],
                    "properties": {
                        "name": { "type": "string", "enum": ["verify_clean", "max_sync_lag", "kpis_within_bounds", "rollback_drill", "sign_off"] },
                        "met": { "type": "boolean" },
                        "detail": { "type": "string" },
                        "values": { "description": "The values it was decided on." },
                        "next": { "type": "array", "items": { "type": "string" }, "description": "Commands that move it on." }
                    } } },
                "sign_offs": { "type": "array", "items": {
                    "type": "object", "required": ["person", "name", "signed_at", "counts"],
                    "properties": {
                        "person": { "type": "string" }, "name": { "type": ["string", "null"] },
                        "signed_at": maybe_time, "counts": { "type": "boolean" }
                    } } }
            }
        },
        "PhaseChange": {
            "type": "object", "required": ["wave", "from", "to", "changed"],
            "properties": {
                "wave": { "type": "string" }, "from": phase, "to": phase,
                "changed": { "type": "boolean", "description": "False when the wave was there already." }
            }
        },
        "SyncStatus": {
            "type": "object", "required": ["directions", "recheck", "scheduled_verify"],
            "properties": {
                "directions": { "type": "array", "items": { "type": "object",
                    "description": "One direction's position, lag percentiles and what is in flight." } },
                "recheck": { "type": ["object", "null"], "description": "The rolling re-check's last run; null before the first." },
                "scheduled_verify": { "type": ["object", "null"], "description": "The scheduled verify's last run; null before the first." }
            }
        },
        "Leader": {
            "type": "object", "required": ["role", "holder", "since", "token", "lease"],
            "properties": {
                "role": { "type": "string", "enum": ["leader", "follower"], "description": "This process's role: the leader runs the bridge, a follower serves HTTP and takes over when the leader stops." },
                "holder": { "type": "string", "description": "This process's holder id (host/pid/nonce)." },
                "since": { "type": ["string", "null"], "format": "date-time", "description": "When this process started leading; null for a follower." },
                "token": { "type": ["integer", "null"], "description": "The fencing token of this process's tenure; null for a follower." },
                "lease": { "type": ["object", "null"], "description": "The lease as the store holds it; null before any process led.",
                    "required": ["holder", "token", "since", "renewed_at", "expires_at", "expired"],
                    "properties": {
                        "holder": { "type": "string" }, "token": { "type": "integer" },
                        "since": time, "renewed_at": time, "expires_at": time,
                        "expired": { "type": "boolean" }
                    } }
            }
        },
        "Conflicts": {
            "type": "object", "required": ["conflicts", "next_after"],
            "properties": {
                "conflicts": { "type": "array", "items": { "$ref": "#/components/schemas/Conflict" } },
                "next_after": next
            }
        },
        "Conflict": {
            "type": "object",
            "required": ["id", "kind", "old_id", "new_id", "field", "old_value", "new_value", "rule", "winner", "at"],
            "properties": {
                "id": { "type": "integer" }, "kind": { "type": "string" },
                "old_id": { "type": "string" }, "new_id": { "type": "string" },
                "field": { "type": "string" }, "old_value": {}, "new_value": {},
                "rule": { "type": "string" }, "winner": side, "at": time
            }
        },
        "DeadLetters": {
            "type": "object", "required": ["dead_letters", "next_after"],
            "properties": {
                "dead_letters": { "type": "array", "items": { "$ref": "#/components/schemas/DeadLetter" } },
                "next_after": next
            }
        },
        "DeadLetter": {
            "type": "object",
            "required": ["id", "kind", "side", "source_id", "reason", "attempts", "first_seen", "last_seen", "retried_at"],
            "properties": {
                "id": { "type": "integer" }, "kind": { "type": "string" }, "side": side,
                "source_id": { "type": "string" }, "reason": { "type": "string" },
                "attempts": { "type": "integer" }, "first_seen": time, "last_seen": time,
                "retried_at": maybe_time,
                "record": { "description": "The record as last read (one dead letter only)." }
            }
        },
        "Tokens": {
            "type": "object", "required": ["tokens"],
            "properties": { "tokens": { "type": "array", "items": {
                "type": "object",
                "required": ["name", "role", "created_at", "last_used_at", "revoked_at"],
                "properties": {
                    "name": { "type": "string" },
                    "role": { "type": "string", "enum": ["viewer", "operator", "admin"] },
                    "created_at": time, "last_used_at": maybe_time, "revoked_at": maybe_time
                } } } }
        },
        "Retried": {
            "type": "object", "required": ["id", "result"],
            "properties": {
                "id": { "type": "integer" },
                "result": { "type": "string", "enum": ["resolved", "failing", "unreadable"] },
                "outcome": { "type": ["string", "null"] }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn the_document_lists_each_route_once_with_its_role_and_a_defined_schema() {
        let doc = document();
        let mut listed = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for (path, methods) in doc["paths"].as_object().into_iter().flatten() {
            for (method, operation) in methods.as_object().into_iter().flatten() {
                listed.insert((method.to_uppercase(), path.clone()));
                assert!(
                    ids.insert(operation["operationId"].to_string()),
                    "{operation}"
                );
                let schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
                    ["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .unwrap_or_default();
                assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
            }
        }
        let routes: BTreeSet<_> = ROUTES
            .iter()
            .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(listed, routes);
        assert_eq!(routes.len(), ROUTES.len(), "a route is in the table twice");
    }
}
