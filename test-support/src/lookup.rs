//! A lookup node tailing a [`TestApp`]'s event feed over HTTP.

use didroute_lookup::{Config, Node};
use tokio::net::TcpListener;

use crate::app::TestApp;
use crate::wait::within;

/// A lookup node on port 0 following `app`, once it is ready. It reads the
/// feed with a feed token of its own, as a deployed node does.
pub async fn start_lookup(app: &TestApp) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token = app.feed_token("test lookup node").await;
    let node = Node::start(&Config::new(app.base.clone(), token), listener).await.expect("lookup node starts");
    within("lookup node ready", node.wait_ready()).await;
    node
}
