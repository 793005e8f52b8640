//! End-to-end tests: the real `ords-emulator`, `license-broker` and `license-check`
//! executables as separate processes on loopback, driven through the contract's
//! commands, environment variables and exit codes; and the demo itself.

mod e2e {
    pub mod commands;
    pub mod demo;
    pub mod floating;
    pub mod offline;
    pub mod processes;
    pub mod replicas;
    pub mod seats;
}
