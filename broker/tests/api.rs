//! The broker over real HTTP: one test binary, one `spawn_app` (see `api/helpers.rs`).

mod api {
    mod cache;
    mod cli;
    mod edge_limits;
    mod edge_ops;
    mod edge_shutdown;
    mod emulator;
    mod helpers;
    mod input;
    mod ords_answers;
    mod sentinel;
    mod signature;
}
