//! A lookup node tailing a [`TestApp`]'s event feed over HTTP.

use didroute_lookup::{Config, Node};
use tokio::net::TcpListener;

use crate::app::{TestApp, OPERATOR_TOKEN};
use crate::wait::within;

/// A lookup node on port 0 following `app`, once it is ready.
pub async fn start_lookup(app: &TestApp) -> Node {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let node = Node::start(&Config::new(app.base.clone(), OPERATOR_TOKEN), listener).await.expect("lookup node starts");
    within("lookup node ready", node.wait_ready()).await;
    node
}
