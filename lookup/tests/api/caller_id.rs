//! `GET /v1/caller-id/{tenant_id}/{number}`.

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn only_the_owning_tenant_may_present_a_number() {
    let feed = FakeFeed::start().await;
    let n = num("+15553330001");
    feed.upsert(n, 1, utility(TENANT_A, "Owned by A"));
    feed.upsert(num("+15553330002"), 1, utility(TENANT_B, "Owned by B"));
    let t = TestNode::ready(feed).await;

    let a = t.get(&format!("/v1/caller-id/{TENANT_A}/%2B15553330001")).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.json(), json!({"number": "+15553330001", "tenant_id": TENANT_A.to_string(), "allowed": true}));
    assert_eq!(a.seq(), 2);
    let b = t.get(&format!("/v1/caller-id/{TENANT_B}/15553330001")).await;
    assert_eq!(b.json()["allowed"], false);
    let nobody = t.get(&format!("/v1/caller-id/{TENANT_A}/+15553339999")).await;
    assert_eq!(nobody.status, 200);
    assert_eq!(nobody.json()["allowed"], false);
    // The simple (unhyphenated) UUID form names the same tenant.
    let simple = t.get(&format!("/v1/caller-id/{}/+15553330001", TENANT_A.simple())).await;
    assert_eq!(simple.json()["allowed"], true);

    // Moving the number to B moves the permission.
    let seq = t.feed.upsert(n, 2, utility(TENANT_B, "Now B"));
    t.applied(seq).await;
    assert_eq!(t.get(&format!("/v1/caller-id/{TENANT_A}/+15553330001")).await.json()["allowed"], false);
    assert_eq!(t.get(&format!("/v1/caller-id/{TENANT_B}/+15553330001")).await.json()["allowed"], true);
    // Released: nobody.
    let seq = t.feed.delete(n, 3);
    t.applied(seq).await;
    assert_eq!(t.get(&format!("/v1/caller-id/{TENANT_B}/+15553330001")).await.json()["allowed"], false);
    t.stop().await;
}

#[tokio::test]
async fn bad_tenant_or_number_is_400() {
    let t = TestNode::ready(FakeFeed::start().await).await;
    for tenant in ["not-a-uuid", "0a0a0a0a-0a0a-4a0a-8a0a", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "%20"] {
        let a = t.get(&format!("/v1/caller-id/{tenant}/+15553330001")).await;
        let p = a.problem(400);
        assert!(p["detail"].as_str().unwrap().contains("tenant id"), "{tenant}: {p}");
    }
    let a = t.get(&format!("/v1/caller-id/{TENANT_A}/12")).await;
    let p = a.problem(400);
    assert!(p["detail"].as_str().unwrap().contains("too short"), "{p}");
    t.get(&format!("/v1/caller-id/{TENANT_A}")).await.problem(404);
    t.stop().await;
}
