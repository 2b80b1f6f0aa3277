//! The error answers every operation of a kind can give, added to the OpenAPI document once
//! rather than repeated in 114 annotations: 401 wherever credentials are required, 400, 415
//! and 422 wherever a JSON body is read, 413 for uploads, 422 wherever query parameters are
//! validated. Each refers to the one error envelope (`ErrorBody`). An annotation that already
//! describes one of these codes keeps its own description.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::request_body::RequestBody;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::{OpenApi, Ref, RefOr};

/// Adds the common answers to every operation of `doc`.
pub fn add(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            add_to(operation);
        }
    }
}

fn add_to(operation: &mut Operation) {
    let secured = operation.security.as_ref().is_some_and(|requirements| !requirements.is_empty());
    if secured {
        answer(operation, "401", "Missing, invalid or expired credentials (`unauthorized`).");
    }
    let body_types: Vec<String> = match &operation.request_body {
        Some(RefOr::T(RequestBody { content, .. })) => content.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if body_types.iter().any(|t| t == "application/json") {
        answer(operation, "400", "The body is not valid JSON (`bad_request`).");
        answer(operation, "415", "The body is not `application/json` (`unsupported_media_type`).");
        answer(operation, "422", "A field is missing or out of its bounds; `field` names it (`invalid`).");
    }
    if body_types.iter().any(|t| t == "multipart/form-data") {
        answer(operation, "413", "The upload is larger than the server accepts (`too_large`).");
        answer(operation, "422", "A form field is missing or out of its bounds (`invalid`).");
    }
    let queried = operation.parameters.as_ref().is_some_and(|parameters| {
        parameters.iter().any(|p| matches!(p, RefOr::T(parameter) if parameter.parameter_in == ParameterIn::Query))
    });
    if queried {
        answer(operation, "422", "A query parameter is out of its bounds; `field` names it (`invalid`).");
    }
}

/// Documents `status` with `description` and the error envelope, unless already documented.
fn answer(operation: &mut Operation, status: &str, description: &str) {
    operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
        let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
        RefOr::T(ResponseBuilder::new().description(description).content("application/json", content).build())
    });
}
