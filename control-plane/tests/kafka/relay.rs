//! The relay on a real broker: a late commit is published, not skipped (R5);
//! one relay is active at a time; a relay killed between publishing and
//! marking leaves consumers as one delivery would (R4).

use std::sync::Arc;
use std::time::Duration;

use didroute_control_plane::outbox::record::{self as changes, Change};
use didroute_shared::E164;
use reqwest::StatusCode;
use tokio::sync::Notify;

use crate::helpers::*;
use crate::need_broker;

/// R5: a transaction takes an outbox row, stays open while a later one
/// commits and the relay publishes past it, then commits: its change still
/// reaches the topic and the lookup node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_commit_is_published_not_skipped() {
    let brokers = need_broker!();
    let topic = new_topic(&brokers, 1).await;
    let app = spawn_app().await;
    let mut relay = spawn_relay(&app, relay_settings(&brokers, &topic));
    let node = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&node).await;
    let t = app.tenant("metro").await;
    app.import("15550008000-15550008009", "US").await;
    let first = app.allocate_seq(&t, "+15550008000", "first").await;
    relay.published(first).await;

    // a remap in a transaction that stays open: its outbox row exists, with
    // a lower id than the next writer's, but is not committed
    let number = E164::parse("+15550008000").unwrap();
    let mut late = app.state.db.tenant_tx(t.id).await.unwrap();
    sqlx::query("UPDATE numbers SET updated_at = now() WHERE e164 = $1")
        .bind(number.to_string())
        .execute(&mut *late)
        .await
        .unwrap();
    sqlx::query("UPDATE routes SET customer_label = 'late' WHERE e164 = $1")
        .bind(number.to_string())
        .execute(&mut *late)
        .await
        .unwrap();
    let change = Change { number, tenant: Some(t.id), detail: serde_json::json!({"test": "late"}) };
    let late_id = changes::record(&mut late, "test", "number.remap", &[change]).await.unwrap().unwrap();

    // a later writer commits, gets a position, and the relay publishes it
    let later = app.allocate_seq(&t, "+15550008001", "later").await;
    relay.published(later).await;
    let (s, r) = route(&node, "+15550008001", later).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    let visible: Option<Option<i64>> = sqlx::query_scalar("SELECT seq FROM outbox WHERE id = $1")
        .bind(late_id)
        .fetch_optional(&app.state.db.operator)
        .await
        .unwrap();
    assert_eq!(visible, None, "the open transaction's row is neither visible nor sequenced yet");
    assert!(
        late_id
            < sqlx::query_scalar::<_, i64>("SELECT id FROM outbox WHERE seq = $1")
                .bind(later as i64)
                .fetch_one(&app.state.db.operator)
                .await
                .unwrap(),
        "the late row was taken first"
    );

    // now it commits: it gets a later position and is published
    late.commit().await.unwrap();
    let seq = didroute_control_plane::outbox::sequence(&app.state.db.operator, late_id).await.unwrap();
    assert!(seq > later, "late commit, later position: {seq} > {later}");
    relay.published(seq).await;
    let (s, r) = route(&node, "+15550008000", seq).await;
    assert_eq!((s, r["customer_label"].as_str()), (StatusCode::OK, Some("late")), "{r}");
    assert_eq!(app.unpublished().await, 0);
    let seqs: Vec<u64> = read_topic(&brokers, &topic).iter().map(|r| r.event.seq).collect();
    assert!(seqs.contains(&seq), "the late row is on the topic: {seqs:?}");
    node.shutdown().await.unwrap();
}

/// Exactly one relay relays; the other waits on the lock and takes over
/// when the first one dies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_relay_at_a_time_and_a_standby_takes_over() {
    // rdkafka's mock cluster: tansu 0.6 acknowledges but drops records of a
    // second idempotent producer on the same partition, which this test
    // (a relay taking over from another) would report as lost
    let (_mock, brokers) = mock_cluster(1);
    let topic = MOCK_TOPIC.to_owned();
    let app = spawn_app().await;
    let mut one = spawn_relay(&app, relay_settings(&brokers, &topic));
    one.active().await;
    let mut two = spawn_relay(&app, relay_settings(&brokers, &topic));
    let t = app.tenant("metro").await;
    app.import("15550008100-15550008119", "US").await;
    let mut last = 0;
    for i in 0..5 {
        last = app.allocate_seq(&t, &format!("+155500081{i:02}"), "x").await;
    }
    one.published(last).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!two.status.borrow().active, "the second relay must wait");
    assert_eq!(two.status.borrow().published, 0, "the second relay published nothing");

    one.kill();
    two.active().await;
    for i in 5..10 {
        last = app.allocate_seq(&t, &format!("+155500081{i:02}"), "x").await;
    }
    two.published(last).await;
    assert_eq!(app.unpublished().await, 0);
    let records = read_topic(&brokers, &topic);
    let seqs: Vec<u64> = records.iter().map(|r| r.event.seq).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "in order, each once");
}

/// R4: the relay dies after the broker acknowledged a batch and before it
/// marked it; the next relay sends the batch again. Consumers (one tailing
/// through it, one reading the topic afterwards) end as with one delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_killed_between_publishing_and_marking() {
    // rdkafka's mock cluster: tansu 0.6 acknowledges but drops records of a
    // second idempotent producer on the same partition, which this test
    // (a relay taking over from another) would report as lost
    let (_mock, brokers) = mock_cluster(2);
    let topic = MOCK_TOPIC.to_owned();
    let app = spawn_app().await;
    let t = app.tenant("metro").await;
    app.import("15550008200-15550008239", "US").await;
    let tailing = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&tailing).await;

    // the first relay stops for good between delivery and marking
    let reached = Arc::new(Notify::new());
    let mut settings = relay_settings(&brokers, &topic);
    let signal = Arc::clone(&reached);
    settings.before_mark = Some(Arc::new(move |_, _| {
        signal.notify_one();
        Box::pin(std::future::pending())
    }));
    let first = spawn_relay(&app, settings);
    let mut numbers = Vec::new();
    let mut last = 0;
    for i in 0..30 {
        let n = format!("+155500082{i:02}");
        last = app.allocate_seq(&t, &n, &format!("v1 {i}")).await;
        numbers.push(n);
    }
    for n in numbers.iter().take(10) {
        last = app.remap(&t, n, "v2").await;
    }
    for n in numbers.iter().skip(25) {
        last = app.release(&t, n).await;
    }
    within("relay reaches the point between publishing and marking", reached.notified()).await;
    let delivered = read_topic(&brokers, &topic).len();
    assert!(delivered > 0, "the batch reached the broker");
    let unmarked = app.unpublished().await;
    assert!(unmarked as usize >= delivered, "nothing it delivered was marked ({unmarked} unmarked)");
    first.kill();

    // the next relay resends what was not marked
    let mut second = spawn_relay(&app, relay_settings(&brokers, &topic));
    second.published(last).await;
    assert_eq!(app.unpublished().await, 0);
    let records = read_topic(&brokers, &topic);
    let distinct: std::collections::BTreeSet<u64> = records.iter().map(|r| r.event.seq).collect();
    assert_eq!(distinct.len() as u64, last, "every position is on the topic");
    assert!(records.len() > distinct.len(), "some rows were delivered twice ({} records)", records.len());

    let late = start_node(kafka_settings(&brokers, &topic)).await;
    ready(&late).await;
    applied(&tailing, last).await;
    applied(&late, last).await;
    let all: Vec<E164> = numbers.iter().map(|n| E164::parse(n).unwrap()).collect();
    let expect: Vec<Option<String>> = (0..30)
        .map(|i| match i {
            0..=9 => Some("v2".to_owned()),
            25.. => None,
            _ => Some(format!("v1 {i}")),
        })
        .collect();
    for node in [&tailing, &late] {
        let got: Vec<Option<String>> = state_of(node, &all).into_iter().map(|s| s.map(|(_, label, _)| label)).collect();
        assert_eq!(got, expect, "as with one delivery");
        assert_eq!(node.app().store().load().numbers(), 25);
    }
    assert_eq!(state_of(&tailing, &all), state_of(&late, &all), "versions agree too");
    assert!(tailing.app().metrics().events_stale.get() > 0, "the repeats arrived and were dropped");
    tailing.shutdown().await.unwrap();
    late.shutdown().await.unwrap();
}
