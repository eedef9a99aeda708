//! Health, readiness, metrics, the OpenAPI description, and the pages' language.

use crate::both;
use crate::support::TestApp;
use reqwest::StatusCode;
use serde_json::Value;

async fn operations_endpoints(t: TestApp) {
    let r = t
        .client
        .get(format!("{}/healthz", t.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().contains_key("x-request-id"));
    assert_eq!(
        t.client
            .get(format!("{}/readyz", t.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    t.get("admin", "/api/v1/accounts").await;
    let metrics = t
        .client
        .get(format!("{}/metrics", t.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("hamkor_http_requests_total"), "{metrics}");
    assert!(
        metrics.contains("route=\"/api/v1/accounts\""),
        "requests are counted by route pattern"
    );
    assert!(metrics.contains("hamkor_http_request_duration_seconds"));
}
both!(operations_endpoints);

async fn openapi_describes_every_route(t: TestApp) {
    let (s, spec) = t.get("nobody", "/api/v1/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().unwrap();
    for (path, methods) in hamkor_web::api::openapi::API_ROUTES {
        let item = paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} not described"));
        for m in *methods {
            assert!(item.get(*m).is_some(), "{m} {path} not described");
            // The route exists: it answers with something other than the unknown-route 404.
            let url = format!(
                "{}{}",
                t.base,
                path.replace("{id}", "01999999-0000-7000-8000-000000000000")
                    .replace("{role}", "sales")
            );
            let method = reqwest::Method::from_bytes(m.to_uppercase().as_bytes()).unwrap();
            let resp = t
                .client
                .request(method, &url)
                .bearer_auth(&t.tokens["admin"])
                .header("content-type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            let unknown = body["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("No API route"));
            assert!(!unknown, "{m} {path} is described but not routed");
        }
    }
    // And nothing unknown is routed: a made-up path is the unknown-route 404.
    let (s, v) = t.get("admin", "/api/v1/nothing-here").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v["detail"].as_str().unwrap().starts_with("No API route"));
}
both!(openapi_describes_every_route);

async fn pages_speak_the_users_language(t: TestApp) {
    let page = |lang: &'static str| {
        let c = t.client.clone();
        let url = format!("{}/login", t.base);
        async move {
            c.get(url)
                .header("accept-language", lang)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(page("ru-RU,ru;q=0.9").await.contains("Вход в Hamkor"));
    assert!(page("uz").await.contains("Hamkorga kirish"));
    assert!(page("en-US").await.contains("Log in to Hamkor"));
    let html = page("uz").await;
    assert!(html.contains("<html lang=\"uz\">"));
    let r = t
        .client
        .get(format!("{}/login", t.base))
        .send()
        .await
        .unwrap();
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'self'"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
}
both!(pages_speak_the_users_language);
