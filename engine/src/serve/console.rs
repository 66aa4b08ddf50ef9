//! The web console: its built files (`console/dist`, made by `console/`'s Vite build and
//! committed) are part of the binary, so `reeltime` stays one file.

use axum::extract::Path;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

use super::api::ApiError;

const INDEX: &[u8] = include_bytes!("../../../console/dist/index.html");
const APP_JS: &[u8] = include_bytes!("../../../console/dist/assets/app.js");
const APP_CSS: &[u8] = include_bytes!("../../../console/dist/assets/app.css");

fn file(content_type: &'static str, bytes: &'static [u8]) -> Response {
    (
        [
            (CONTENT_TYPE, HeaderValue::from_static(content_type)),
            // The files change with the binary only.
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /`: the console's page.
pub async fn index() -> Response {
    file("text/html; charset=utf-8", INDEX)
}

/// `GET /assets/{file}`: its script and style.
pub async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    match name.as_str() {
        "app.js" => Ok(file("text/javascript; charset=utf-8", APP_JS)),
        "app.css" => Ok(file("text/css; charset=utf-8", APP_CSS)),
        _ => Err(ApiError::not_found(format!("no console asset {name:?}"))),
    }
}
