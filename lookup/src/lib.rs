//! didroute lookup node (skeleton; being written).
#![forbid(unsafe_code)]
