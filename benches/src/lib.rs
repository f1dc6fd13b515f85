//! Shared pieces of the didroute benchmarks: the realistic data generator
//! ([`data`]) and a counting global allocator ([`alloc`]) that benchmark
//! binaries install to measure memory from the allocator itself.

pub mod alloc;
pub mod cpu;
pub mod data;
